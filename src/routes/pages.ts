// Where mailed links land without a front end (APP_URL unset): two small pages that POST their URL's
// token to the API only when the person clicks, so mail scanners that prefetch links spend nothing.
import { sha256 } from "../auth/session.ts";
import type { Ctx } from "../context.ts";

const STYLE = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}input,button{font:inherit;padding:.4rem;margin:.3rem 0;width:100%}";

// Reads the token from the page's own URL, posts it with the form's fields, shows the answer.
const SCRIPT = `const form = document.querySelector("form"), out = document.querySelector("output");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = Object.fromEntries(new FormData(form));
  body.token = new URLSearchParams(location.search).get("token") || "";
  const res = await fetch(form.dataset.action, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  out.textContent = answer.message || answer.detail || res.statusText;
  if (res.ok) form.hidden = true;
});`;

const SCRIPT_HASH = `sha256-${sha256(SCRIPT).toString("base64")}`;
const HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": `default-src 'none'; style-src 'unsafe-inline'; script-src '${SCRIPT_HASH}'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
  "Referrer-Policy": "no-referrer", // the token is in this page's URL (and the pipeline says no-store)
};

function page(title: string, action: string, fields: string, button: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body><h1>${title}</h1>
<form data-action="${action}">${fields}<button type="submit">${button}</button></form>
<p><output></output></p>
<script>${SCRIPT}</script></body></html>
`;
}

const VERIFY = page("Confirm your email address", "/email/verify", "", "Confirm");
const RESET = page(
  "Choose a new password",
  "/password/reset",
  '<label>New password <input type="password" name="new_password" autocomplete="new-password" minlength="8" required></label>',
  "Change password",
);

export async function verifyEmailPage(_req: Request, _ctx: Ctx): Promise<Response> {
  return new Response(VERIFY, { headers: HEADERS });
}

export async function resetPasswordPage(_req: Request, _ctx: Ctx): Promise<Response> {
  return new Response(RESET, { headers: HEADERS });
}
