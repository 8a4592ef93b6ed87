/**
 * The page the browser shows after the provider redirects back to us. Self-contained (no
 * remote assets: the CSP forbids them), readable with a screen reader, light and dark.
 */
export type CallbackPage =
  | { kind: 'success'; who: string; clusters: string[] }
  | { kind: 'error'; title: string; detail: string }
  | { kind: 'notice'; title: string; detail: string };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Response headers that go with the page. */
export const CALLBACK_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export function renderCallbackPage(page: CallbackPage): string {
  let title: string;
  let heading: string;
  let body: string;
  let role: 'status' | 'alert';
  if (page.kind === 'success') {
    const list = page.clusters.map(escapeHtml).join(', ');
    title = 'Signed in - k8s-auth';
    heading = 'You are signed in';
    body = `<p>Signed in as <strong>${escapeHtml(page.who)}</strong>${list ? ` for <strong>${list}</strong>` : ''}.</p><p>You can close this tab and return to the terminal.</p>`;
    role = 'status';
  } else {
    title = `${page.title} - k8s-auth`;
    heading = page.title;
    body = `<p>${escapeHtml(page.detail)}</p><p>You can close this tab; the terminal says what to do next.</p>`;
    role = page.kind === 'error' ? 'alert' : 'status';
  }
  const accent = page.kind === 'success' ? '#1a7f37' : page.kind === 'error' ? '#cf222e' : '#9a6700';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:Canvas;color:CanvasText}
main{max-width:36rem;margin:2rem;padding:2rem;border-radius:.5rem;border-top:.4rem solid ${accent};box-shadow:0 1px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;margin-top:0}
p{line-height:1.5}
</style>
</head>
<body>
<main>
<h1 id="heading">${escapeHtml(heading)}</h1>
<div role="${role}" aria-labelledby="heading">${body}</div>
</main>
</body>
</html>
`;
}
