// The LIFF page (an ES module; @line/liff from npm through the page's import map): initialise LIFF,
// send only the ID token to the server, then link a card or open マイページ.
// Never send liff.getProfile() or a user id: the server trusts nothing but the verified ID token.
import liff from "@line/liff";

(function () {
  const app = document.getElementById("liff-app");
  if (!app) return;
  const status = document.getElementById("liff-status");
  const error = document.getElementById("liff-error");
  const form = document.getElementById("liff-link-form");
  const linked = document.getElementById("liff-linked");

  function say(text) { status.textContent = text; }
  function fail(text) { error.textContent = text; error.hidden = false; }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": app.dataset.csrf},
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return {ok: response.ok, data: data};
  }

  function showLinked(text) {
    form.hidden = true;
    linked.hidden = false;
    say(text);
  }

  async function start() {
    try {
      if (app.dataset.mock) {
        // Development and browser tests only (ELIBRARY_LINE_LIFF_MOCK): LINE's official mock plugin,
        // with the ID token the test's fake LINE API will verify.
        const Plugin = window.liffMock.LiffMockPlugin || window.liffMock.default || window.liffMock;
        liff.use(new Plugin());
        await liff.init({liffId: app.dataset.liffId, mock: true});
        const token = window.__liffMockIdToken;
        liff.$mock.set(function (p) { return Object.assign({}, p, {getIDToken: token, isLoggedIn: true}); });
      } else {
        await liff.init({liffId: app.dataset.liffId});
      }
      if (!liff.isLoggedIn()) {
        liff.login({redirectUri: window.location.href});  // outside LINE: LINE Login, then back here
        if (!liff.isLoggedIn()) return;  // (the mock signs in at once; the real SDK navigates away)
      }
      const result = await post(app.dataset.sessionUrl, {id_token: liff.getIDToken()});
      if (!result.ok) { say(""); fail(result.data.title || app.dataset.textFailed); return; }
      if (result.data.linked) {
        if (app.dataset.manage) { showLinked(app.dataset.textAlready); return; }
        window.location.assign(result.data.next);
        return;
      }
      say("");
      form.hidden = false;
      document.getElementById("card").focus();
    } catch (e) {
      say("");
      fail(app.dataset.textFailed);
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    error.hidden = true;
    const result = await post(app.dataset.linkUrl, {card: form.card.value, pin: form.pin.value});
    form.pin.value = "";
    if (!result.ok) { fail(result.data.title || app.dataset.textFailed); return; }
    showLinked(app.dataset.textLinked);
  });

  document.getElementById("liff-unlink").addEventListener("click", async function () {
    error.hidden = true;
    const result = await post(app.dataset.unlinkUrl, {});
    if (!result.ok) { fail(result.data.title || app.dataset.textFailed); return; }
    linked.hidden = true;
    say(app.dataset.textUnlinked);
  });

  start();
})();
