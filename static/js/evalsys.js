// Behaviour shared by every page, driven by data attributes (no inline scripts or handlers):
// - form[data-confirm="…"]: asks before submitting (the text names what is unfinished);
// - every form: its submit buttons are disabled while the request runs, so a double
//   click sends one request (the clicked button's name and value are still sent);
// - form[data-unsaved-warning]: the browser warns before leaving with unsaved changes;
// - select[data-autosubmit]: submits its form when the choice changes;
// - button[data-print]: prints the page; button[data-fill="id"][data-value="…"]: fills that field;
// - [data-phone-sections]: on a phone its cards fold to their headers (the first stays open);
//   a tap on a header opens or folds that card.
(function () {
  "use strict";

  const dirty = new Set();

  function busy(form, submitter) {
    if (submitter && submitter.name) {
      const carried = document.createElement("input");
      carried.type = "hidden";
      carried.name = submitter.name;
      carried.value = submitter.value;
      form.appendChild(carried);
    }
    form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach((button) => {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    });
    form.setAttribute("aria-busy", "true");
  }

  function idle(form) {
    form.querySelectorAll("[aria-busy]").forEach((element) => {
      element.removeAttribute("aria-busy");
      if (element !== form) element.disabled = false;
    });
    form.removeAttribute("aria-busy");
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.async !== undefined) return; // the page's script sends it and calls evalsys.busy/idle
    dirty.delete(form);
    form.setAttribute("aria-busy", "true");
    // Disable after this event: a disabled submitter would drop its own value from the request.
    window.setTimeout(() => busy(form, event.submitter), 0);
  });

  function markDirty(event) {
    const form = event.target.form || event.target.closest("form");
    if (form && form.dataset.unsavedWarning !== undefined) dirty.add(form);
  }
  document.addEventListener("input", markDirty);
  document.addEventListener("change", (event) => {
    markDirty(event);
    if (event.target.matches("select[data-autosubmit]")) {
      dirty.delete(event.target.form);
      event.target.form.requestSubmit();
    }
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-print], button[data-fill]");
    if (!button) return;
    if (button.dataset.print !== undefined) {
      window.print();
      return;
    }
    const field = document.getElementById(button.dataset.fill);
    field.value = button.dataset.value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // Phones: the sections of a long page (the customer file) fold to their headers, so the page
  // reads as a table of contents. Open stay: the first, the one the address points to (#id), and
  // any holding a message or a form error. Wider screens and print show everything (the CSS).
  const phone = window.matchMedia("(max-width: 767.98px)");
  document.querySelectorAll("[data-phone-sections]").forEach((container) => {
    const wanted = window.location.hash.length > 1 ? document.getElementById(decodeURIComponent(window.location.hash.slice(1))) : null;
    container.querySelectorAll(":scope > * > .card, :scope > .card").forEach((card, index) => {
      const header = card.querySelector(":scope > .card-header");
      if (!header) return;
      card.classList.add("phone-section");
      const keep = index === 0 || (wanted && card.contains(wanted)) || card.querySelector(".alert, .is-invalid, .invalid-feedback");
      if (!keep) card.classList.add("phone-folded");
      const sync = () => {
        if (phone.matches) {
          header.setAttribute("role", "button");
          header.tabIndex = 0;
          header.setAttribute("aria-expanded", String(!card.classList.contains("phone-folded")));
        } else {
          header.removeAttribute("role");
          header.removeAttribute("tabindex");
          header.removeAttribute("aria-expanded");
        }
      };
      const toggle = (event) => {
        if (!phone.matches || event.target.closest("a, button, input, select, textarea, label")) return;
        if (event.type === "keydown") {
          if (event.key !== "Enter" && event.key !== " ") return;
          event.preventDefault();
        }
        card.classList.toggle("phone-folded");
        sync();
      };
      header.addEventListener("click", toggle);
      header.addEventListener("keydown", toggle);
      phone.addEventListener("change", sync);
      sync();
    });
  });

  // After a step saved from a card further down (the page comes back at #that-card), the
  // message is shown in that card rather than at the top, out of sight. Only the flash
  // messages (data-flash) move: a page's own notices stay where they are.
  if (window.location.hash.length > 1) {
    const target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    const place = target && target.querySelector("[data-messages-here]");
    if (place) document.querySelectorAll("main > .alert[data-flash]").forEach((alert) => place.prepend(alert));
    // Fonts and charts change heights after the browser first jumped to the card: jump again.
    if (target) window.addEventListener("load", () => target.scrollIntoView({ block: "start" }));
  }

  window.addEventListener("beforeunload", (event) => {
    if (dirty.size === 0) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // Coming back with the browser's back button shows the page as it was left: usable again.
  window.addEventListener("pageshow", () => document.querySelectorAll("form[aria-busy]").forEach(idle));

  window.evalsys = {
    busy,
    idle,
    saved(form) {
      dirty.delete(form);
    },
    changed(form) {
      dirty.add(form);
    },
  };
})();
