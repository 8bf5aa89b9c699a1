"""The PDF report, laid out with fpdf2 (pure Python: no browser, no system packages).

Same content as the HTML (both walk the same :class:`~nof1.report.view.ReportView`), set in
DejaVu Sans from matplotlib's bundled fonts so "≥", "−", "–" and "µ" print. Page 1 is the
clinician's one-page summary; every page carries the INTERIM banner when the trial is not over,
and a footer with the software version, the protocol hash and the page number.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from nof1.report.view import (
    Block,
    Bullets,
    Facts,
    Figure,
    Heading,
    Paragraph,
    ReportView,
    Section,
    Table,
)

FONT = "DejaVu"
INK = (26, 26, 26)
MUTED = (85, 85, 85)
WARN = (138, 43, 0)
RULE = (200, 200, 200)
COLOURS = {"benefit": (0, 158, 115), "negligible": (176, 176, 176), "harm": (213, 94, 0)}
INTERIM_FILL = (255, 243, 205)
INTERIM_INK = (92, 67, 0)


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class _ReportPDF(FPDF):
    def __init__(self, view: ReportView) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.view = view
        fonts = _font_dir()
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.add_font(FONT, "I", str(fonts / "DejaVuSans-Oblique.ttf"))
        self.add_font(FONT, "BI", str(fonts / "DejaVuSans-BoldOblique.ttf"))
        self.set_margins(16, 18, 16)
        self.set_auto_page_break(True, margin=16)
        self.set_title(("INTERIM – " if view.interim else "") + view.title)
        self.set_author("nof1")
        self.set_creator(f"nof1 {view.metadata.get('software_version', '')}")
        self.set_subject(f"N-of-1 trial report, patient {view.metadata.get('patient', '')}")
        self.set_lang("en")

    # every page: interim banner on top, footer with hash and page number
    def header(self) -> None:
        top = 7.0
        if self.view.interim:
            self.set_xy(self.l_margin, top)
            self.set_fill_color(*INTERIM_FILL)
            self.set_draw_color(184, 134, 11)
            self.set_text_color(*INTERIM_INK)
            self.set_font(FONT, "B", 8.5)
            self.cell(self.epw, 6, self.view.interim_text, border=1, fill=True, align="C")
        elif self.page_no() > 1:
            self.set_xy(self.l_margin, top)
            self.set_text_color(*MUTED)
            self.set_font(FONT, "", 7.5)
            self.cell(self.epw, 5, self.view.title, align="L")
        self.set_xy(self.l_margin, self.t_margin)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED)
        text = self.view.footer
        if self.view.interim:
            text = "INTERIM · " + text
        self.cell(self.epw - 20, 5, text, align="L")
        self.cell(20, 5, f"page {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(*INK)

    # -- primitives ---------------------------------------------------------------------

    def text_block(
        self,
        text: str,
        size: float = 9.5,
        style: str = "",
        colour: tuple[int, int, int] = INK,
        gap: float = 1.5,
        line: float | None = None,
    ) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*colour)
        self.set_x(self.l_margin)
        self.multi_cell(
            self.epw, line or size * 0.48, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_text_color(*INK)
        self.ln(gap)

    def facts(
        self, rows: tuple[tuple[str, str], ...], label_width: float = 46, size: float = 8.8
    ) -> None:
        self.set_font(FONT, "", size)
        self.set_fill_color(255, 255, 255)
        with self.table(
            width=self.epw,
            col_widths=(label_width, self.epw - label_width),
            first_row_as_headings=False,
            borders_layout="NONE",
            text_align="LEFT",
            line_height=size * 0.47,
            padding=(0.5, 1, 0.5, 0),
            v_align="TOP",
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(label, style=FontFace(emphasis="BOLD", color=MUTED))
                row.cell(value)
        self.ln(1.5)

    def grid(self, block: Table) -> None:
        if block.caption:
            self.keep_space(18)
            self.text_block(block.caption, size=9, style="B", gap=0.5)
        size = 8 if len(block.columns) <= 6 else 7.2
        self.set_font(FONT, "", size)
        self.set_fill_color(255, 255, 255)
        widths = block.widths or tuple(1.0 for _ in block.columns)
        with self.table(
            width=self.epw,
            col_widths=widths,
            borders_layout="HORIZONTAL_LINES",
            text_align="LEFT",
            line_height=size * 0.47,
            padding=(0.7, 1, 0.7, 1),
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            cell_fill_mode="NONE",
            v_align="TOP",
        ) as table:
            self.set_draw_color(*RULE)
            head = table.row()
            for c in block.columns:
                head.cell(c)
            for values in block.rows:
                row = table.row()
                for v in values:
                    row.cell(v)
        self.set_draw_color(*INK)
        self.ln(1)
        if block.note:
            self.text_block(block.note, size=7.5, colour=MUTED)
        self.ln(1)

    def keep_space(self, height: float) -> None:
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def figure(self, block: Figure, png: bytes) -> None:
        width_px, height_px = struct.unpack(">II", png[16:24])
        w = self.epw
        h = w * height_px / width_px
        caption_h = 9
        if h + caption_h > self.page_break_trigger - self.t_margin:
            h = self.page_break_trigger - self.t_margin - caption_h
            w = h * width_px / height_px
        self.keep_space(h + caption_h)
        self.image(io.BytesIO(png), x=self.l_margin, w=w, h=h, alt_text=block.alt)
        self.ln(0.5)
        self.text_block(block.caption, size=7.5, style="I", colour=MUTED, gap=2.5)


# ------------------------------------------------------------------------------------------


def _front_page(pdf: _ReportPDF, view: ReportView) -> None:
    front = view.front
    h = front.headline
    pdf.set_y(pdf.t_margin + (2 if view.interim else 0))
    pdf.text_block(front.title, size=15, style="B", gap=0.3, line=6.6)
    pdf.text_block(front.subtitle, size=9.5, colour=MUTED, gap=1.5)
    pdf.facts(front.facts + (("Design", front.design),), label_width=40, size=8.3)

    # the headline box
    top = pdf.get_y() + 0.5
    pdf.set_y(top + 2.5)
    inner = pdf.epw - 6
    x = pdf.l_margin + 3

    def line(
        text: str,
        size: float,
        style: str = "",
        colour: tuple[int, int, int] = INK,
        gap: float = 0.8,
    ) -> None:
        pdf.set_font(FONT, style, size)
        pdf.set_text_color(*colour)
        pdf.set_x(x)
        pdf.multi_cell(inner, size * 0.48, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    line(f"Primary outcome: {h.outcome} — “{h.question}”", 8.5, colour=MUTED, gap=0.3)
    line("Effect of B minus A: median and 95% credible interval (CrI)", 8, colour=MUTED)
    if h.withheld_reason and h.effect != "not estimated":
        line(
            "Unreliable estimate, shown for completeness only (no verdict, see below):",
            8.5,
            "B",
            colour=WARN,
            gap=0.3,
        )
        line(h.effect, 12, "", colour=MUTED, gap=1)
    else:
        line(h.effect, 14, "B", gap=1)
    if h.effect_plain:
        line(h.effect_plain + ".", 9.5)
    if h.relative:
        line(h.relative + ".", 9)
    if h.bar is not None:
        bar_y = pdf.get_y() + 1
        bx = x
        pdf.set_line_width(0.2)
        for _label, p, cls, _text in h.bar.parts:
            w = inner * max(p, 0.0)
            if w > 0:
                pdf.set_fill_color(*COLOURS[cls])
                pdf.rect(bx, bar_y, w, 6, style="F")
            bx += w
        pdf.set_draw_color(*INK)
        pdf.rect(x, bar_y, inner, 6, style="D")
        pdf.set_y(bar_y + 7.5)
        pdf.set_x(x)
        pdf.set_font(FONT, "", 8.3)
        for label, _p, cls, share in h.bar.parts:
            sx = pdf.get_x()
            pdf.set_fill_color(*COLOURS[cls])
            pdf.rect(sx, pdf.get_y() + 0.8, 3, 3, style="DF")
            pdf.set_x(sx + 4)
            text = f"{label}: {share}"
            pdf.cell(pdf.get_string_width(text) + 8, 4.6, text)
        pdf.ln(5.5)
        line(f"Smallest difference that matters (MCID): {h.mcid}.", 8, colour=MUTED)
    line(h.verdict, 11, "B", colour=WARN if h.withheld_reason else INK, gap=1)
    bottom = pdf.get_y() + 1
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.5)
    pdf.rect(pdf.l_margin, top, pdf.epw, bottom - top, style="D")
    pdf.set_line_width(0.2)
    pdf.set_y(bottom + 3)
    pdf.set_text_color(*INK)

    pdf.facts(
        (
            ("Adherence", front.adherence),
            ("Data completeness", front.completeness),
            ("Serious adverse events", front.serious_events),
        ),
        label_width=40,
        size=8.5,
    )
    if front.other_outcomes:
        pdf.grid(
            Table(
                ("Secondary outcome", "Effect B − A (95% CrI)", "Verdict"),
                front.other_outcomes,
                widths=(2.4, 4, 5.6),
            )
        )
    for note in front.notes:
        pdf.text_block(note, size=8.3, style="B", colour=WARN, gap=0.8)
    pdf.text_block(
        "This report informs a decision that the patient makes together with their clinician. It "
        "is not medical advice, and it never recommends a dose.",
        size=8,
        style="I",
        colour=MUTED,
    )


def _section(pdf: _ReportPDF, number: int, section: Section, figures: dict[str, bytes]) -> None:
    pdf.keep_space(30)
    pdf.ln(2)
    y = pdf.get_y()
    pdf.set_font(FONT, "B", 12)
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(
        pdf.epw - 30,
        6,
        f"{number}. {section.title}",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    after = pdf.get_y()
    if section.cent:
        pdf.set_xy(pdf.l_margin + pdf.epw - 30, y)
        pdf.set_font(FONT, "", 7)
        pdf.set_text_color(*MUTED)
        pdf.cell(30, 6, f"CENT {section.cent}", align="R")
        pdf.set_text_color(*INK)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, after + 0.5, pdf.l_margin + pdf.epw, after + 0.5)
    pdf.set_line_width(0.2)
    pdf.set_y(after + 2.5)
    for block in section.blocks:
        _block(pdf, block, figures)


def _block(pdf: _ReportPDF, block: Block, figures: dict[str, bytes]) -> None:
    if isinstance(block, Paragraph):
        if block.tone == "note":
            pdf.text_block(block.text, size=7.8, colour=MUTED)
        elif block.tone == "warning":
            pdf.text_block(block.text, size=9, style="B", colour=WARN)
        else:
            pdf.text_block(block.text, size=9.2)
    elif isinstance(block, Heading):
        pdf.keep_space(14)
        pdf.ln(1)
        pdf.text_block(block.text, size=10, style="B", gap=0.8)
    elif isinstance(block, Bullets):
        pdf.set_font(FONT, "", 9)
        for item in block.items:
            pdf.set_x(pdf.l_margin)
            pdf.cell(4, 4.4, "•")
            pdf.multi_cell(pdf.epw - 4, 4.4, item, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(0.6)
        pdf.ln(1)
    elif isinstance(block, Facts):
        pdf.facts(block.rows)
    elif isinstance(block, Table):
        pdf.grid(block)
    elif isinstance(block, Figure):
        png = figures.get(block.key)
        if png is not None:
            pdf.figure(block, png)


def render_pdf(view: ReportView, figures: dict[str, bytes]) -> bytes:
    """The report as PDF bytes."""
    pdf = _ReportPDF(view)
    pdf.add_page()
    _front_page(pdf, view)
    pdf.add_page()
    for number, section in enumerate(view.sections, start=1):
        _section(pdf, number, section, figures)
    return bytes(pdf.output())
