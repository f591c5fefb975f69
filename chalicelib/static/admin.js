// The operator console's passkey ceremonies: adding a security key or passkey at set-up, and
// using one as the second step of signing in. The server makes every challenge and checks
// every answer; this file carries them between /admin's JSON steps and navigator.credentials.
(function () {
  "use strict";

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) {
      text += String.fromCharCode(bytes[i]);
    }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "===".slice((base64.length + 3) % 4);
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) {
      bytes[i] = text.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function withBuffers(options) {
    var copy = Object.assign({}, options, {challenge: fromBase64url(options.challenge)});
    if (options.user) {
      copy.user = Object.assign({}, options.user, {id: fromBase64url(options.user.id)});
    }
    ["excludeCredentials", "allowCredentials"].forEach(function (name) {
      if (options[name]) {
        copy[name] = options[name].map(function (descriptor) {
          return Object.assign({}, descriptor, {id: fromBase64url(descriptor.id)});
        });
      }
    });
    return copy;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: {clientDataJSON: toBase64url(response.clientDataJSON)}
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) {
        json.response.userHandle = toBase64url(response.userHandle);
      }
    }
    return json;
  }

  function postJSON(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = text ? JSON.parse(text) : {};
        if (!response.ok) {
          var error = new Error((data.error && data.error.message) || "Something went wrong.");
          error.server = true;
          throw error;
        }
        return data;
      });
    });
  }

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
      postJSON(section.getAttribute("data-options")).then(function (data) {
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
