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
})();
