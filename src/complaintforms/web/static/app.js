// After a refusal (422) the cursor goes to the first field the reason is beside, so that
// the clerk corrects it without reaching for the mouse.
document.addEventListener("DOMContentLoaded", function () {
  var field = document.querySelector(".field.invalid input, .field.invalid select, .field.invalid textarea");
  if (field) { field.focus(); }
});
