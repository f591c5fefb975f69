// The operator console's passkey ceremonies: adding a security key or passkey at set-up, and
// using one as the second step of signing in. The server makes every challenge and checks
// every answer; this file carries them between /admin's JSON steps and navigator.credentials.
(function () {
  "use strict";

  var withBuffers = window.esoWebAuthn.withBuffers;
  var credentialJSON = window.esoWebAuthn.credentialJSON;
  var postJSON = window.esoWebAuthn.postJSON;

  function describe(error) {
    if (error && error.server) {
      return error.message;
    }
    if (error && error.name === "NotAllowedError") {
      return "The request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This key is already registered.";
    }
    return "Your browser could not use a security key here.";
  }

  function showCodes(codes) {
    var box = document.getElementById("admin-recovery");
    var list = document.getElementById("admin-recovery-codes");
    codes.forEach(function (code) {
      var item = document.createElement("li");
      var text = document.createElement("code");
      text.textContent = code;
      item.appendChild(text);
      list.appendChild(item);
    });
    box.hidden = false;
    document.getElementById("admin-passkey-button").hidden = true;
    var form = document.getElementById("admin-totp");
    if (form) {
      form.hidden = true;
    }
    document.getElementById("admin-recovery-title").focus();
  }

  function setUp(section) {
    var button = document.getElementById("admin-passkey-button");
    var errorBox = document.getElementById("admin-passkey-error");
    var create = section.getAttribute("data-mode") === "create";
    if (!window.PublicKeyCredential || !navigator.credentials) {
      errorBox.textContent = "This browser cannot use security keys; use the authenticator app.";
      errorBox.hidden = false;
      button.disabled = true;
      return;
    }
    button.addEventListener("click", function () {
      errorBox.hidden = true;
      button.disabled = true;
      postJSON(section.getAttribute("data-options"), {}).then(function (data) {
        var publicKey = withBuffers(data.publicKey);
        return create ? navigator.credentials.create({publicKey: publicKey})
          : navigator.credentials.get({publicKey: publicKey});
      }).then(function (credential) {
        return postJSON(section.getAttribute("data-answer"), {credential: credentialJSON(credential)});
      }).then(function (data) {
        if (create && data.recovery_codes && data.recovery_codes.length) {
          showCodes(data.recovery_codes);
        } else {
          location.assign(data.next || "/admin");
        }
      }).catch(function (error) {
        errorBox.textContent = describe(error);
        errorBox.hidden = false;
        button.disabled = false;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var section = document.getElementById("admin-passkey");
    if (section) {
      setUp(section);
    }
  });
}());
