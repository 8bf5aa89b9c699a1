// Progressive enhancement only: the forms work without it (the server checks every answer).
// Hides a question while its condition (ask_if) is not met, as the protocol says.
"use strict";
(function () {
  function answer(form, name) {
    var checked = form.querySelector('input[type="radio"][name="' + name + '"]:checked');
    if (checked) return parseFloat(checked.getAttribute("data-number"));
    var field = form.querySelector('input.number[name="' + name + '"]');
    if (field && field.value.trim() !== "") return parseFloat(field.value);
    var fieldset = form.querySelector("#q-" + name);
    if (fieldset && fieldset.hidden) return skippedValue(fieldset);
    return null;
  }
  function skippedValue(fieldset) { return parseFloat(fieldset.getAttribute("data-skipped")); }
  function holds(op, left, right) {
    switch (op) {
      case "==": return left === right;
      case "!=": return left !== right;
      case ">=": return left >= right;
      case "<=": return left <= right;
      case ">": return left > right;
      case "<": return left < right;
    }
    return true;
  }
  function update(form) {
    var questions = form.querySelectorAll("fieldset[data-ask-if]");
    for (var i = 0; i < questions.length; i++) {
      var q = questions[i];
      var value = answer(form, q.getAttribute("data-ask-if"));
      var asked = value === null || holds(q.getAttribute("data-op"), value,
                                           parseFloat(q.getAttribute("data-value")));
      var known = value !== null;
      q.hidden = known && !asked;
      var inputs = q.querySelectorAll("input");
      for (var j = 0; j < inputs.length; j++) inputs[j].disabled = q.hidden;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form.diary");
    for (var i = 0; i < forms.length; i++) {
      (function (form) {
        form.addEventListener("change", function () { update(form); });
        form.addEventListener("input", function () { update(form); });
        update(form);
      })(forms[i]);
    }
  });
})();
