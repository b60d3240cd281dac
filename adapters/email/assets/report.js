// Encrypts the report (or a follow-up) in the browser before it is sent:
// every field and every file becomes one MIME message, encrypted to the
// team key with OpenPGP.js; only the armored message and the form's CSRF
// token leave the browser. Without this script the form posts its fields
// as they are, and the server encrypts them on arrival.
'use strict';
(function () {
  var form = document.getElementById('report');
  if (!form || typeof openpgp === 'undefined') {
    return;
  }
  var progress = document.getElementById('progress');
  var mode = document.getElementById('js-mode');
  if (mode) {
    mode.hidden = false;
  }

  function field(name) {
    var el = form.elements.namedItem(name);
    return el ? el.value.trim() : '';
  }

  // base64 of bytes, in 76-character lines as MIME wants.
  function base64Lines(bytes) {
    var bin = '';
    for (var i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin).replace(/.{76}/g, '$&\r\n');
  }

  function utf8(s) {
    return new TextEncoder().encode(s);
  }

  // An RFC 2047 encoded word: header values may hold any text.
  function encodedWord(s) {
    return '=?utf-8?B?' + base64Lines(utf8(s)).replace(/\r\n/g, '') + '?=';
  }

  // The text part: the same layout the server makes without JavaScript.
  function reportText() {
    if (form.dataset.kind === 'follow-up') {
      return field('details') + '\n';
    }
    return 'Summary: ' + field('summary') + '\n' +
      'Affected version: ' + (field('version') || 'not given') + '\n' +
      'Credit: ' + (field('credit') || 'no credit') + '\n' +
      'Contact: ' + (field('email') || 'none given') + '\n\n' +
      field('details') + '\n';
  }

  // An RFC 2231 parameter value: everything but the attribute
  // characters percent-encoded, so no file name can end the header.
  function extValue(name) {
    return encodeURIComponent(name).replace(/['()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }

  function part(headers, body) {
    return headers.join('\r\n') + '\r\n\r\n' + body + '\r\n';
  }

  async function mimeMessage() {
    var random = crypto.getRandomValues(new Uint8Array(12));
    var boundary = 'sectriage-' + Array.from(random, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
    var subject = form.dataset.kind === 'follow-up' ?
      'Follow-up to ' + form.dataset.reference : field('summary');
    var head = ['MIME-Version: 1.0', 'Subject: ' + encodedWord(subject)];
    if (field('email')) {
      head.push('From: <' + field('email') + '>');
    }
    head.push('Content-Type: multipart/mixed; boundary="' + boundary + '"; protected-headers="v1"');
    var parts = [part(['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'],
      base64Lines(utf8(reportText().replace(/\r?\n/g, '\r\n'))))];
    var key = field('public_key');
    if (key) {
      parts.push(part(['Content-Type: application/pgp-keys',
        'Content-Disposition: attachment; filename="public-key.asc"'], key.replace(/\r?\n/g, '\r\n')));
    }
    var files = form.elements.namedItem('attachments').files;
    for (var i = 0; i < files.length; i++) {
      var data = new Uint8Array(await files[i].arrayBuffer());
      parts.push(part(['Content-Type: application/octet-stream',
        "Content-Disposition: attachment; filename*=utf-8''" + extValue(files[i].name),
        'Content-Transfer-Encoding: base64'], base64Lines(data)));
    }
    var body = '';
    for (var j = 0; j < parts.length; j++) {
      body += '--' + boundary + '\r\n' + parts[j];
    }
    return head.join('\r\n') + '\r\n\r\n' + body + '--' + boundary + '--\r\n';
  }

  // Coming back to the page (the back button) finds the form as it was
  // before sending, not with its fields disabled.
  window.addEventListener('pageshow', function () {
    for (var i = 0; i < form.elements.length; i++) {
      form.elements[i].disabled = false;
    }
    form.elements.namedItem('encrypted').value = '';
    progress.textContent = '';
  });

  form.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var button = form.querySelector('button[type=submit]');
    // Armor makes the encrypted files about 4/3 of their size: say so
    // now rather than after the upload is refused.
    var size = 0;
    var files = form.elements.namedItem('attachments').files;
    for (var f = 0; f < files.length; f++) {
      size += files[f].size;
    }
    if (size * 4 / 3 + 16384 > Number(form.dataset.maxBytes)) {
      progress.textContent = 'The files are too large to send here (encrypted, everything must fit in ' +
        Math.floor(Number(form.dataset.maxBytes) / 1024) + ' KiB). Please leave out large files or send them by mail.';
      return;
    }
    button.disabled = true;
    progress.textContent = 'Encrypting…';
    try {
      var teamKey = await openpgp.readKey({ armoredKey: document.getElementById('team-key').textContent });
      var message = await openpgp.createMessage({ binary: utf8(await mimeMessage()) });
      var armored = await openpgp.encrypt({ message: message, encryptionKeys: teamKey, format: 'armored' });
      // Only the ciphertext and the CSRF token are sent: every other
      // field is disabled, and disabled fields are not submitted.
      for (var i = 0; i < form.elements.length; i++) {
        var el = form.elements[i];
        if (el.name && el.name !== 'csrf' && el.name !== 'encrypted') {
          el.disabled = true;
        }
      }
      form.elements.namedItem('encrypted').value = armored;
      progress.textContent = 'Sending the encrypted report…';
      form.submit();
    } catch (err) {
      button.disabled = false;
      progress.textContent = 'Your browser could not encrypt the report (' + err.message +
        '). Nothing was sent. Please try again, or turn JavaScript off to let the server encrypt it.';
    }
  });
})();
