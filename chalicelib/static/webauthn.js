// WebAuthn in the browser, as JSON: the options the server sends become what
// navigator.credentials wants (base64url → ArrayBuffer), and a credential becomes the JSON the
// server checks. Shared by the members' passkeys (passkeys.js) and the operators' console
// (admin.js); the server makes every challenge and checks every answer.
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
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
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
      body: body === undefined ? undefined : JSON.stringify(body)
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

  window.esoWebAuthn = {withBuffers: withBuffers, credentialJSON: credentialJSON, postJSON: postJSON};
}());
