"""The phone diary: ``nof1 serve``, a small local web front end (Starlette, Jinja2 templates).

A peer of :mod:`nof1.cli`: it parses HTTP, calls the same library functions as the CLI
(:mod:`nof1.diary`), renders templates, and holds no validation or statistics of its own (the
library's error texts are what the person sees). Nothing imports it; only ``nof1 serve`` does,
inside its command function, so the daily ``nof1 log`` never loads Starlette or uvicorn.

Modules: :mod:`~nof1.web.security` (access token, session, CSRF, Host/Origin checks, headers,
limits), :mod:`~nof1.web.site` (what every page shares, signing in), :mod:`~nof1.web.form`
(outcomes as form fields), :mod:`~nof1.web.pages` (today, diary, side effect, correct a day),
:mod:`~nof1.web.overview` (progress, reports, manifest) and :mod:`~nof1.web.app` (assembles the
application).
"""
