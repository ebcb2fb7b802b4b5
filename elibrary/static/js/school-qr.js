// School sign-in by a card's QR code. Two ways in, one way out:
// - /school/qr#<token>: the tablet's camera app opened the card's URL; the token is in the fragment.
// - /school/signin: the scanner reads the camera's frames with jsQR (npm) until it finds a card's URL.
// Either way the token is put into the page's form and POSTed: it never travels in a URL to the server.
(function () {
  "use strict";
  var form = document.getElementById("qr-form");
  if (!form) return;

  function decoded(text) {
    try { return decodeURIComponent(text); } catch (e) { return text; }  // the server says what is wrong with it
  }

  function submit(token) {
    form.elements.token.value = token;
    form.submit();
  }

  // The token of a card's URL (same path as ours), or null for any other QR code.
  function tokenOf(text, qrPath) {
    var url;
    try { url = new URL(text, window.location.href); } catch (e) { return null; }
    if (url.pathname.replace(/\/+$/, "") !== qrPath.replace(/\/+$/, "") || url.hash.length < 2) return null;
    return decoded(url.hash.slice(1));
  }

  var scanner = document.getElementById("qr-scanner");
  if (!scanner) {
    // The card's page: take the token out of the address bar first, so it stays out of the history too.
    var token = window.location.hash.slice(1);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    if (token) {
      submit(decoded(token));
    } else {
      document.getElementById("qr-status").hidden = true;
      document.getElementById("qr-missing").hidden = false;
    }
    return;
  }

  var startButton = document.getElementById("qr-start");
  var video = document.getElementById("qr-video");
  var status = document.getElementById("qr-status");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", {willReadFrequently: true});
  var stream = null;

  function say(text) { status.textContent = text; }

  function stop() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
  }

  function look() {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(image.data, image.width, image.height, {inversionAttempts: "dontInvert"});
      if (code && code.data) {
        var token = tokenOf(code.data, scanner.dataset.qrPath);
        if (token) {
          stop();
          say(scanner.dataset.textFound);
          submit(token);
          return;
        }
        say(scanner.dataset.textNotCard);
      }
    }
    window.setTimeout(look, 150);
  }

  startButton.addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.jsQR) {
      say(scanner.dataset.textNoCamera);
      return;
    }
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      startButton.hidden = true;
      say(scanner.dataset.textLooking);
      return video.play();
    }).then(look).catch(function () {
      stop();
      say(scanner.dataset.textNoCamera);
    });
  });
  window.addEventListener("pagehide", stop);
})();
