// /docs in a real headless Chromium (test/helpers/chromium.ts: Debian's, else @sparticuz/chromium's; driven by playwright-core): the page
// renders every route, and registering then logging in through Swagger UI's "Try it out" works.
// Every request that is not to the service is blocked and must never be attempted: /docs works offline.
// The README's screenshot comes from here: UPDATE_DOCS_SCREENSHOT=1 bun test test/openapi/docs.browser.test.ts
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { chromium, type Page } from "playwright-core";
import { complaintsOf, findChromium } from "../helpers/chromium.ts";
import { serverForFile, uniqueEmail } from "../helpers/server.ts";
import { tableOperations } from "./observed.ts";

const CHROMIUM = await findChromium();

const server = await serverForFile();
// The flags that keep Chromium from calling home at start; the test's route blocking does the rest.
const browser = await chromium.launch({
  executablePath: CHROMIUM.executablePath,
  env: { ...process.env, ...CHROMIUM.env },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
afterAll(() => browser.close());

const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
const elsewhere: string[] = [];
let local = 0;
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (url.startsWith(`${server.url}/`)) return local++, route.continue();
  elsewhere.push(url);
  return route.abort("blockedbyclient");
});
const page = await context.newPage();
const complaints = complaintsOf(page);

/** Expands an operation, fills its JSON body, executes it and returns the status and body shown. */
async function tryItOut(page: Page, id: string, body: unknown): Promise<{ status: string; body: string }> {
  const operation = page.locator(`#${id}`);
  await operation.locator(".opblock-summary-control").click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator("textarea.body-param__text").fill(JSON.stringify(body));
  await operation.locator("button.execute").click();
  const response = operation.locator(".live-responses-table .response").first();
  await response.waitFor();
  return {
    status: (await response.locator(".response-col_status").innerText()).trim(),
    body: await response.locator(".response-col_description .microlight").first().innerText(),
  };
}

describe("/docs in Chromium", () => {
  test("lists every operation of the route table", async () => {
    await page.goto(`${server.url}/docs`);
    await page.locator(".opblock").first().waitFor({ timeout: 20_000 });
    const listed = await page.locator(".opblock-summary").evaluateAll((blocks) =>
      blocks.map((b) => `${b.querySelector(".opblock-summary-method")?.textContent} ${b.querySelector(".opblock-summary-path")?.getAttribute("data-path")}`),
    );
    expect(listed.sort()).toEqual(tableOperations().sort());
    expect(await page.locator(".info .title").innerText()).toContain("profile-service");

    const shot = process.env.UPDATE_DOCS_SCREENSHOT ? join(import.meta.dir, "../../docs/docs-page.png") : join(tmpdir(), `docs-page-${process.pid}.png`);
    expect((await page.screenshot({ path: shot })).byteLength).toBeGreaterThan(10_000);
  }, 60_000);

  test("registers and logs in through Try it out", async () => {
    const email = uniqueEmail("docs");
    const registered = await tryItOut(page, "operations-auth-register", { name: "Docs Reader", email, password: "correct horse" });
    expect(registered.status).toBe("201");
    expect(JSON.parse(registered.body)).toMatchObject({ message: "User registered successfully" });

    const login = await tryItOut(page, "operations-auth-login", { email, password: "correct horse" });
    expect(login.status).toBe("200");
    const tokens = JSON.parse(login.body);
    expect(tokens.token_type).toBe("bearer");
    // The token the page got is a real one.
    expect((await server.client.send("GET", "/me", { token: tokens.access_token })).body.email).toBe(email);
  }, 60_000);

  test("asked for nothing outside the service, and nothing broke the CSP or threw", () => {
    expect(local).toBeGreaterThanOrEqual(7); // the page, 3 assets, init.js, the document, 2 tries: the blocker saw them
    expect(elsewhere).toEqual([]);
    expect(complaints).toEqual([]);
  });
});
