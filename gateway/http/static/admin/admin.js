// The admin page's only script: check the edit as it is typed, and "remove…" buttons.
// Everything works without it; the server checks again on preview and apply.
"use strict";

(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const form = document.getElementById("edit-form");
  if (!meta || !form) {
    return;
  }
  const token = meta.getAttribute("content");
  const boxes = ["add", "remove"].map((name) => form.elements.namedItem(name));
  const status = document.getElementById("validate-status");
  let timer = null;
  let asked = 0;

  function show(name, findings) {
    const list = document.getElementById(name + "-findings");
    const box = form.elements.namedItem(name);
    list.replaceChildren(
      ...findings.map((f) => {
        const item = document.createElement("li");
        item.className = f.severity;
        // textContent: a finding quotes what was typed, and stays text.
        item.textContent = "line " + f.line + ": " + f.severity + ": " + f.reason;
        return item;
      }),
    );
    const bad = findings.some((f) => f.severity === "error");
    box.setAttribute("aria-invalid", bad ? "true" : "false");
  }

  async function validate() {
    const mine = ++asked;
    const body = new URLSearchParams();
    for (const box of boxes) {
      body.set(box.name, box.value);
    }
    status.textContent = "checking…";
    let answer;
    try {
      const response = await fetch("/admin/validate", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token },
        body: body,
      });
      answer = await response.json();
      if (!response.ok) {
        throw new Error(answer.error || response.statusText);
      }
    } catch (error) {
      if (mine === asked) {
        status.textContent = "could not check: " + error.message;
      }
      return;
    }
    if (mine !== asked) {
      return; // a later check is on its way
    }
    show("add", answer.add);
    show("remove", answer.remove);
    status.textContent = answer.ok ? "checked: no errors" : "checked: fix the errors before previewing";
    form.dataset.checked = String(mine);
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(validate, 350);
  }

  for (const box of boxes) {
    box.addEventListener("input", soon);
    box.addEventListener("blur", () => {
      clearTimeout(timer);
      validate();
    });
  }

  for (const button of document.querySelectorAll("button[data-remove-line]")) {
    button.addEventListener("click", () => {
      const remove = form.elements.namedItem("remove");
      const line = button.dataset.removeLine;
      remove.value = remove.value.trim() ? remove.value.replace(/\s*$/, "\n") + line : line;
      remove.focus();
      soon();
    });
  }
})();
