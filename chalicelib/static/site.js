// eSO page behaviour (progressive enhancement only).
(function () {
  "use strict";

  // Ad slots: the page shows one ad server-side; "Show another ad" asks for the next one.
  // Everything from the API is written with textContent / setAttribute, never as HTML.
  function isWebAddress(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url);
  }

  function renderAd(slot, ad) {
    var content = slot.querySelector(".ad-content");
    content.replaceChildren();
    if (!ad) {
      var empty = document.createElement("p");
      empty.className = "ad-empty muted";
      empty.textContent = "No other ad to show right now.";
      content.appendChild(empty);
      return;
    }
    var box = document.createElement("div");
    box.className = "ad";
    box.setAttribute("data-ad-id", ad.id);
    if (isWebAddress(ad.image_url)) {
      var img = document.createElement("img");
      img.setAttribute("src", ad.image_url);
      img.setAttribute("alt", "");
      box.appendChild(img);
    }
    var text = document.createElement("div");
    var link = document.createElement("a");
    link.className = "ad-title";
    link.setAttribute("href", "/ads/" + encodeURIComponent(ad.id) + "/click");
    link.setAttribute("rel", "sponsored noopener");
    link.textContent = ad.title;
    text.appendChild(link);
    if (ad.body) {
      var body = document.createElement("p");
      body.className = "ad-body";
      body.textContent = ad.body;
      text.appendChild(body);
    }
    box.appendChild(text);
    content.appendChild(box);
  }

  function setUpAdSlot(slot) {
    var button = slot.querySelector(".ad-next");
    if (!button) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      var url = "/api/v1/ads/next?slot=" + encodeURIComponent(slot.getAttribute("data-slot"));
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (response.status === 204) {
            return null;
          }
          if (!response.ok) {
            throw new Error("ads/next answered " + response.status);
          }
          return response.json().then(function (data) { return data.ad; });
        })
        .then(function (ad) { renderAd(slot, ad); })
        .catch(function () { renderAd(slot, null); })
        .then(function () { button.disabled = false; });
    });
  }

  document.querySelectorAll(".ad-slot[data-slot]").forEach(setUpAdSlot);

  // Forms sent to the JSON API (form[data-api]): an error is shown as the server shows it,
  // in the form's summary (role=alert) and at the field it names (aria-invalid, and
  // aria-describedby pointing to the message beside the field). Without JavaScript, or when
  // the API cannot be reached, the form posts to its page as usual.
  var CREDENTIALS = ["email", "password"];  // an error about the pair names no one field
  var SUMMARY_MESSAGE = "form-error-message";

  function describedBy(input) {
    return (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
      var kept = describedBy(input).filter(function (id) {
        return id !== input.id + "-error" && id !== SUMMARY_MESSAGE;
      });
      if (kept.length) {
        input.setAttribute("aria-describedby", kept.join(" "));
      } else {
        input.removeAttribute("aria-describedby");
      }
    });
    var summary = form.querySelector(".form-error");
    if (summary) {
      summary.replaceChildren();
    }
  }

  function inputFor(form, field) {
    var name = String(field).split(".").pop();
    var found = null;
    form.querySelectorAll("[data-api-field]").forEach(function (input) {
      if (!found && (input.getAttribute("data-api-field") === field || input.name === name)) {
        found = input;
      }
    });
    return found;
  }

  function markField(input, message, alone) {
    input.setAttribute("aria-invalid", "true");
    if (!alone) {  // one message for several fields: the summary's
      input.setAttribute("aria-describedby", describedBy(input).concat(SUMMARY_MESSAGE).join(" "));
      return;
    }
    var note = document.createElement("p");
    note.className = "field-error";
    note.id = input.id + "-error";
    var prefix = document.createElement("span");
    prefix.className = "visually-hidden";
    prefix.textContent = "Error: ";
    note.append(prefix, document.createTextNode(message));
    input.parentNode.insertBefore(note, input);
    input.setAttribute("aria-describedby", describedBy(input).concat(note.id).join(" "));
  }

  function showError(form, error) {
    clearErrors(form);
    var message = (error && error.message) || "Something went wrong. Try again in a moment.";
    var fields = error && error.field ? [error.field]
      : (error && error.code === "invalid_credentials" ? CREDENTIALS : []);
    var inputs = fields.map(function (field) { return inputFor(form, field); })
      .filter(Boolean);
    inputs.forEach(function (input) { markField(input, message, inputs.length === 1); });
    var summary = form.querySelector(".form-error");
    if (summary) {
      var box = document.createElement("div");
      box.className = "error";
      var line = document.createElement("p");
      line.id = SUMMARY_MESSAGE;
      if (inputs.length) {
        var link = document.createElement("a");
        link.setAttribute("href", "#" + inputs[0].id);
        link.textContent = message;
        line.appendChild(link);
      } else {
        line.textContent = message;
      }
      box.appendChild(line);
      summary.appendChild(box);
    }
    (inputs[0] || summary || form).focus();
  }

  function apiBody(form) {
    var body = {};
    form.querySelectorAll("[data-api-field]").forEach(function (input) {
      var path = input.getAttribute("data-api-field").split(".");
      var target = body;
      path.slice(0, -1).forEach(function (key) { target = target[key] = target[key] || {}; });
      target[path[path.length - 1]] = input.type === "checkbox" ? input.checked : input.value;
    });
    return body;
  }

  function isSitePath(path) {
    return typeof path === "string" && path.charAt(0) === "/" && path.charAt(1) !== "/";
  }

  function done(form) {
    var next = form.getAttribute("data-api-next");
    if (isSitePath(next)) {
      window.location.assign(next);
      return;
    }
    var status = document.getElementById(form.getAttribute("data-api-status"));
    if (status) {
      var note = document.createElement("p");
      note.className = "notice";
      note.textContent = form.getAttribute("data-api-done");
      status.replaceChildren(note);
      form.hidden = true;
      status.focus();
    }
  }

  function setUpApiForm(form) {
    var button = form.querySelector("button[type=submit], button:not([type])");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button) {
        button.disabled = true;
      }
      fetch(form.getAttribute("data-api"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
        body: JSON.stringify(apiBody(form))
      }).then(function (response) {
        if (response.ok) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (data && data.status === "second_factor_required") {
              // The password was right and a second step is needed: the page route asks
              // for it (the form is sent again, as without JavaScript).
              form.submit();
              return;
            }
            clearErrors(form);
            done(form);
          });
        }
        return response.json().then(function (data) { showError(form, data.error); });
      }).catch(function () {
        form.submit();  // the API cannot be reached: let the page route answer
      }).then(function () {
        if (button) {
          button.disabled = false;
        }
      });
    });
  }

  document.querySelectorAll("form[data-api]").forEach(setUpApiForm);

  // A confirmation or an error the server rendered is where the reading starts: focus it, so
  // screen readers read it at once (it is also a live region: role=status or role=alert).
  var first = document.querySelector(".notice[tabindex], .form-error:not(:empty)");
  if (first) {
    first.focus();
  }
})();
