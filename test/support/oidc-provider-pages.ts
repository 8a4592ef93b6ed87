// Self-contained HTML for the test OpenID provider: a Dex-like password login form and the
// device-flow pages. No external fonts or scripts (the default oidc-provider pages import a
// web font, and tests must not reach outside the loopback).

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:sans-serif;margin:2em auto;max-width:24em}
label{display:block;margin-top:.8em}input{width:100%;padding:.4em;box-sizing:border-box}
button{margin-top:1em;padding:.5em 1em}.dex-error-box{color:#b00020;margin-top:.8em}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h2 class="theme-heading">${escapeHtml(title)}</h2>
${body}
</body>
</html>`;
}

/** Dex's password connector page: inputs name="login" and name="password", button #submit-login. */
export function loginPage(action: string, opts: { invalid: boolean; login?: string }): string {
  const error = opts.invalid ? '<div id="login-error" class="dex-error-box">Invalid Email Address and password.</div>' : '';
  return page(
    'Log in to Your Account',
    `<form method="post" action="${escapeHtml(action)}">
  <label for="login">Email Address</label>
  <input tabindex="1" required id="login" name="login" type="text" placeholder="email address" value="${escapeHtml(opts.login ?? '')}" autofocus>
  <label for="password">Password</label>
  <input tabindex="2" required id="password" name="password" type="password" placeholder="password">
  ${error}
  <button tabindex="3" id="submit-login" type="submit">Login</button>
</form>`,
  );
}

/** `form` is oidc-provider's own form markup (id op.deviceInputForm, with its xsrf field). */
export function userCodeInputPage(form: string, errorMessage?: string): string {
  const msg = errorMessage
    ? `<p id="device-error" class="dex-error-box">${escapeHtml(errorMessage)}</p>`
    : '<p>Enter the code shown on your device</p>';
  return page('Enter User Code', `${msg}\n${form}\n<button id="submit-user-code" type="submit" form="op.deviceInputForm">Submit</button>`);
}

/** `form` is oidc-provider's confirm form (id op.deviceConfirmForm). */
export function userCodeConfirmPage(form: string, clientId: string, userCode: string): string {
  return page(
    'Confirm Device',
    `<p>Device of client <strong>${escapeHtml(clientId)}</strong> shows code <code id="user-code">${escapeHtml(userCode)}</code>.</p>
${form}
<button id="confirm-device" type="submit" form="op.deviceConfirmForm">Continue</button>
<button id="abort-device" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  );
}

export function deviceSuccessPage(): string {
  return page('Login Successful', '<p id="device-success">Login Successful. Return to your device to continue.</p>');
}

export function errorPage(fields: Record<string, unknown>): string {
  const rows = Object.entries(fields)
    .map(([k, v]) => `<pre><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</pre>`)
    .join('\n');
  return page('Error', rows);
}
