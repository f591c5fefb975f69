// Passkeys (WebAuthn): sign in with one on /login, add one on /account.
// The server makes every challenge and checks every answer; this file only carries them
// between the JSON API and navigator.credentials, as base64url JSON.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;  // the pages say what is needed; the password forms work as before
  }

  var withBuffers = window.esoWebAuthn.withBuffers;
  var credentialJSON = window.esoWebAuthn.credentialJSON;
  var postJSON = window.esoWebAuthn.postJSON;

  function show(element, text) {
    if (!element) {
      return;
    }
    if (text !== undefined) {
      element.textContent = text;
    }
    element.hidden = false;
  }

  function describe(error) {
    if (error && error.server) {
      return error.message.charAt(0).toUpperCase() + error.message.slice(1) + ".";
    }
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    return "Your browser could not use a passkey here.";
  }

  // WebAuthn needs a host name: where the page was opened at an IP address (the local
  // stack's 127.0.0.1), offer the same page at the relying party's host instead.
  function onOtherHost(publicKey, note) {
    if (!publicKey.rpId && !publicKey.rp) {
      return false;
    }
    var rpId = publicKey.rpId || publicKey.rp.id;
    if (!rpId || rpId === location.hostname) {
      return false;
    }
    var link = note && note.querySelector("a");
    if (link) {
      link.href = location.protocol + "//" + rpId + (location.port ? ":" + location.port : "") +
        location.pathname;
      link.textContent = link.href;
    }
    show(note);
    return true;
  }

  // --- /login: sign in with a passkey, from autofill or the button ---------------------------------

  function setUpSignIn(section) {
    var button = document.getElementById("passkey-sign-in-button");
    var errorBox = document.getElementById("passkey-sign-in-error");
    var note = document.getElementById("passkey-other-host");
    var next = section.getAttribute("data-next") || "/members";
    var pending = null;  // the autofill (conditional) request, cancelled by the button
    section.hidden = false;

    function finish(credential) {
      return postJSON("/api/v1/session/passkey", {credential: credentialJSON(credential)})
        .then(function () { location.assign(next); });
    }

    function ask(mediation) {
      return postJSON("/api/v1/session/passkey/options").then(function (data) {
        if (onOtherHost(data.publicKey, note)) {
          button.hidden = true;  // here the browser would refuse: the note links to where not
          return null;
        }
        var request = {publicKey: withBuffers(data.publicKey)};
        if (mediation) {
          pending = new AbortController();
          request.mediation = mediation;
          request.signal = pending.signal;
        }
        return navigator.credentials.get(request);
      }).then(function (credential) {
        return credential ? finish(credential) : null;
      });
    }

    button.addEventListener("click", function () {
      errorBox.hidden = true;
      if (pending) {
        pending.abort();
        pending = null;
      }
      button.disabled = true;
      ask(null).catch(function (error) {
        show(errorBox, describe(error));
      }).then(function () { button.disabled = false; });
    });

    // Autofill: where the browser offers passkeys in the e-mail field's suggestions.
    var email = document.getElementById("email");
    if (email && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) {
          return;
        }
        email.setAttribute("autocomplete", "username webauthn");
        ask("conditional").catch(function (error) {
          if (error && error.name !== "AbortError") {
            show(errorBox, describe(error));
          }
        });
      });
    }
  }

  // --- /account: add a passkey ---------------------------------------------------------------------

  function setUpAdd(form) {
    var errorBox = document.getElementById("passkey-add-error");
    var note = document.getElementById("passkey-other-host");
    var button = document.getElementById("passkey-add-button");
    var unsupported = document.getElementById("passkey-unsupported");
    if (unsupported) {
      unsupported.hidden = true;
    }
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errorBox.hidden = true;
      button.disabled = true;
      var password = document.getElementById("passkey-password");
      var name = document.getElementById("passkey-name").value;
      postJSON("/api/v1/me/passkeys/options", {password: password.value}).then(function (data) {
        password.value = "";
        if (onOtherHost(data.publicKey, note)) {
          return null;
        }
        return navigator.credentials.create({publicKey: withBuffers(data.publicKey)});
      }).then(function (credential) {
        if (!credential) {
          return null;
        }
        return postJSON("/api/v1/me/passkeys", {credential: credentialJSON(credential),
                                                name: name || null})
          .then(function () { location.assign("/account"); });
      }).catch(function (error) {
        show(errorBox, describe(error));
      }).then(function () { button.disabled = false; });
    });
  }

  var signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    setUpSignIn(signIn);
  }
  var add = document.getElementById("passkey-add");
  if (add) {
    setUpAdd(add);
  }
})();
