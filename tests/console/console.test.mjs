// Browser acceptance tests of the web console: the real server (`serve --demo` on a
// fresh SQLite database), Debian's Chromium driven by playwright-core, Debian's sshd
// on a loopback port as the host that Check logs in to, axe-core for accessibility.
//
// The same server runs its SSH broker on another loopback port: an engineer's OpenSSH
// `ssh -tt` through it to that sshd gives the session page its live view, terminate
// and recording.
//
// Run by .ci/run (as root: sshd and the host account need it). Environment:
//   SUPPORT_ACCESS_BIN  the server binary (default ../../target/debug/support-access)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   SCREENSHOT_DIR      where screenshots go (default ../../docs/console)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer, connect } from "node:net";
import { randomBytes } from "node:crypto";
import { chromium, request as httpRequest } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.SUPPORT_ACCESS_BIN || join(here, "../../target/debug/support-access");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR || join(here, "../../docs/console");
const AXE = readFileSync(join(here, "node_modules/axe-core/axe.min.js"), "utf8");
const LAUNCH_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 780 };

// The host account Check logs in to: a system user that only this loopback sshd admits.
const HOST_USER = "sa-console-check";
const HOST_PASSWORD = "Check-" + randomBytes(9).toString("hex");

let dir, server, sshd, base, browser, sshPort, brokerPort;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function cli(...args) {
  return execFileSync(BIN, ["--database-url", `sqlite://${dir}/db.sqlite`, ...args], {
    env: { ...process.env, SUPPORT_ACCESS_MASTER_KEY_FILE: join(dir, "master.key") },
    encoding: "utf8",
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.on("connect", () => { c.destroy(); resolve(true); });
    c.on("error", () => resolve(false));
  });
}

async function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

function startSshd() {
  assert.equal(process.getuid(), 0, "the console tests run as root (sshd and its host account)");
  // bash: the broker session types `read -s` at its prompt.
  if (spawnSync("id", [HOST_USER]).status !== 0) {
    execFileSync("useradd", ["--create-home", "--shell", "/bin/bash", HOST_USER]);
  } else {
    execFileSync("usermod", ["--shell", "/bin/bash", HOST_USER]);
  }
  const home = execFileSync("getent", ["passwd", HOST_USER], { encoding: "utf8" }).split(":")[5];
  mkdirSync(home, { recursive: true });
  execFileSync("chown", [HOST_USER, home]);
  execFileSync("chpasswd", { input: `${HOST_USER}:${HOST_PASSWORD}\n` });
  mkdirSync("/run/sshd", { recursive: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  const config = join(dir, "sshd_config");
  writeFileSync(config, [
    `Port ${sshPort}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_key")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication no",
    "UsePAM no",
    "PermitRootLogin no",
    `AllowUsers ${HOST_USER}`,
    "StrictModes no",
    "PrintMotd no",
    "PrintLastLog no",
    "",
  ].join("\n"));
  return spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "inherit"] });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "sa-console-"));
  mkdirSync(SHOTS, { recursive: true });
  sshPort = await freePort();
  sshd = startSshd();
  await waitForPort(sshPort, 10_000);

  const port = await freePort();
  brokerPort = await freePort();
  server = spawn(BIN, ["--database-url", `sqlite://${dir}/db.sqlite`, "serve", "--demo",
    "--listen", `127.0.0.1:${port}`, "--ssh-listen", `127.0.0.1:${brokerPort}`,
    "--master-key-file", join(dir, "master.key"),
    // The SSH host of the test listens on loopback, which CheckHosts refuses by default;
    // the demo's hosts are in private networks.
    "--target-networks", "127.0.0.0/8,10.0.0.0/8,192.168.0.0/16,172.16.0.0/12"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, SUPPORT_ACCESS_LOG: "warn" },
  });
  await waitForPort(port, 30_000);
  await waitForPort(brokerPort, 10_000);
  base = `http://127.0.0.1:${port}`;
  // A second tenant, whose request the first must not see.
  cli("admin", "domain", "create", "--name", "globex");
  cli("admin", "user", "create", "--domain", "globex", "--name", "gina", "--password", "gina-test-pass");

  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_FLAGS });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  sshd?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function newPage(viewport = DESKTOP, locale = "en-US") {
  const context = await browser.newContext({ viewport, locale, timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  page.on("pageerror", (e) => { throw e; });
  return page;
}

async function signIn(page, domain, user, password) {
  await page.goto(`${base}/console/login`);
  await page.getByLabel(/Account \(domain\)|账号（租户）/).fill(domain);
  await page.getByLabel(/User name|用户名/).fill(user);
  await page.getByLabel(/^Password$|^密码$/).fill(password);
  await page.getByRole("button", { name: /Sign in|登录/ }).click();
  await page.waitForURL(/\/console\/(requests|mine)/);
}

/// axe-core, injected: no serious or critical violations.
async function assertAccessible(page, what) {
  // The page's CSP refuses an injected <script>; evaluating the source works.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
  }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(" | ")})`), [],
    `accessibility of ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/// The provider API, for what the pages do not show (ids of another tenant's request).
async function engineerToken() {
  const api = await httpRequest.newContext({ baseURL: base });
  const r = await api.post("/v3/auth/tokens", {
    data: { auth: { identity: { methods: ["password"], password: { user: {
      name: "engineer", password: "engineer-demo-pass", domain: { name: "provider" } } } },
      scope: { domain: { name: "provider" } } } },
  });
  assert.equal(r.status(), 201);
  return { api, token: r.headers()["x-subject-token"] };
}

async function raise(page, { customer, submitter, incident, summary, host, port }) {
  await page.goto(`${base}/console/raise`);
  await page.getByLabel(/Customer account/).fill(customer);
  await page.getByLabel(/Ticket submitter/).fill(submitter);
  await page.getByLabel("Ticket ID").fill(incident);
  await page.getByLabel("Summary").fill(summary);
  await page.getByLabel("Why access is needed").fill(`To look into ${summary}`);
  await page.getByLabel("Authorization letter").fill("I will only use this access for this ticket.");
  const first = page.locator("fieldset.target").first();
  await first.getByLabel("Instance ID").fill(`ecs-${incident.toLowerCase()}`);
  await first.getByLabel("Instance name").fill(`web-${incident.slice(-2)}`);
  await first.getByLabel("Region").fill("cn-south-1");
  await first.getByLabel(/Host address/).fill(host);
  await first.getByLabel("Port").fill(String(port));
  await page.getByRole("button", { name: "Raise request" }).click();
  await page.waitForURL(/\/console\/mine/);
  await assert.doesNotReject(page.getByRole("cell", { name: incident, exact: true }).waitFor());
}

test("the console end to end", async (t) => {
  const engineer = await newPage();
  await t.test("an engineer raises requests", async () => {
    await signIn(engineer, "provider", "engineer", "engineer-demo-pass");
    await engineer.goto(`${base}/console/raise`);
    await shot(engineer, "raise-en-desktop");
    await raise(engineer, { customer: "acme", submitter: "bob", incident: "CS-E2E-01",
      summary: "Disk full on web-01", host: "127.0.0.1", port: sshPort });
    await raise(engineer, { customer: "acme", submitter: "bob", incident: "CS-E2E-02",
      summary: "Slow queries", host: "127.0.0.1", port: sshPort });
    await raise(engineer, { customer: "globex", submitter: "gina", incident: "CS-E2E-99",
      summary: "Another tenant", host: "127.0.0.1", port: sshPort });
    await assertAccessible(engineer, "my requests");
    await shot(engineer, "mine-en-desktop");
  });

  await t.test("the engineer adds an SSH key by pasting it, and removes it", async () => {
    const keyFile = join(dir, "engineer_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e-laptop", "-f", keyFile]);
    const line = readFileSync(`${keyFile}.pub`, "utf8").trim();
    const fingerprint = execFileSync("ssh-keygen", ["-lf", `${keyFile}.pub`], { encoding: "utf8" }).split(" ")[1];
    await engineer.getByRole("link", { name: "My SSH keys" }).click();
    await engineer.getByRole("heading", { name: "My SSH keys" }).waitFor();
    await engineer.getByText(/No SSH keys yet/).waitFor();
    await engineer.getByLabel(/Public key/).fill(line);
    await engineer.getByRole("button", { name: "Add a key" }).click();
    await engineer.getByRole("cell", { name: fingerprint, exact: true }).waitFor();
    await engineer.getByRole("cell", { name: "e2e-laptop", exact: true }).waitFor();
    await assertAccessible(engineer, "my SSH keys");
    await shot(engineer, "keys-en-desktop");
    // The same key again: refused in words, the paste kept for correcting.
    await engineer.getByLabel(/Public key/).fill(line);
    await engineer.getByRole("button", { name: "Add a key" }).click();
    assert.match(await engineer.getByRole("alert").textContent(), /registered already/);
    assert.equal((await engineer.getByLabel(/Public key/).inputValue()).trim(), line);
    await assertAccessible(engineer, "my SSH keys with an error");
    await engineer.getByRole("button", { name: `Remove ${fingerprint}` }).click();
    await engineer.getByText(/No SSH keys yet/).waitFor();
  });

  await t.test("an operator picks their group from a list to see its tickets", async () => {
    const carol = await newPage();
    await signIn(carol, "acme", "carol", "carol-demo-pass");
    assert.equal(await carol.getByRole("link", { name: "CS-E2E-01" }).count(), 0, "bob's ticket is not hers");
    await carol.locator("summary", { hasText: "Filters" }).click();
    const groups = carol.getByLabel("Operator group");
    assert.deepEqual(await groups.locator("option").allTextContents(), ["None: my own view", "ops"]);
    await groups.selectOption({ label: "ops" });
    await carol.getByRole("button", { name: "Apply" }).click();
    await carol.getByRole("link", { name: "CS-E2E-01" }).waitFor();
    assert.equal(await carol.getByLabel("Operator group").locator("option:checked").textContent(), "ops");
    await assertAccessible(carol, "the request list with the group switch");
    await carol.context().close();
  });

  const page = await newPage();
  await t.test("the customer finds the pending request", async () => {
    await signIn(page, "acme", "alice", "alice-demo-pass");
    const pendingTab = page.getByRole("link", { name: /^pending \d+$/ });
    assert.equal(await pendingTab.getAttribute("aria-current"), "page");
    assert.match(await pendingTab.textContent(), /pending\s+4/);
    await assertAccessible(page, "the request list");
    await shot(page, "list-en-desktop");
    await page.locator("summary", { hasText: "Filters" }).click();
    await page.getByLabel("Ticket ID").fill("CS-E2E-01");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByRole("link", { name: "CS-E2E-01" }).click();
    await page.getByRole("heading", { name: /CS-E2E-01/ }).waitFor();
    await page.getByText("Raised", { exact: true }).first().waitFor();
    await assertAccessible(page, "the request detail");
    await shot(page, "detail-en-desktop");
  });

  await t.test("Check tries the host, then the customer approves", async () => {
    await page.getByRole("link", { name: "Approve" }).click();
    await page.getByRole("heading", { name: /Approve access/ }).waitFor();
    await assertAccessible(page, "the approve page");
    const host = page.locator("fieldset.host").first();
    await host.getByLabel("Account").fill(HOST_USER);
    await host.getByLabel("Password").fill("wrong-" + HOST_PASSWORD);
    await host.getByRole("button", { name: "Check" }).click();
    await host.locator("output.check-result.bad").waitFor({ timeout: 20_000 });
    assert.match(await host.locator("output").textContent(), /not matched/);
    await host.getByLabel("Password").fill(HOST_PASSWORD);
    await host.getByRole("button", { name: "Check" }).click();
    await host.locator("output.check-result.ok").waitFor({ timeout: 20_000 });
    assert.match(await page.locator("[data-summary-window]").textContent(), /24 h/);
    assert.match(await page.locator("[data-summary-account]").first().textContent(), new RegExp(HOST_USER));
    await shot(page, "approve-en-desktop");
    // The maximum window is enforced by the server too, whatever the browser allows.
    await page.locator("#expire").evaluate((el) => { el.removeAttribute("max"); el.value = "2099-01-01T00:00"; });
    await page.getByRole("button", { name: "Approve access" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").textContent(), /window|hours/i);
    // A sane window, the password again (never sent back), and it is approved.
    await page.locator("#expire").evaluate((el) => { el.value = ""; });
    const start = await page.locator("#effective").inputValue();
    const end = new Date(new Date(start).getTime() + 4 * 3600 * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    await page.locator("#expire").fill(`${end.getFullYear()}-${pad(end.getMonth() + 1)}-${pad(end.getDate())}T${pad(end.getHours())}:${pad(end.getMinutes())}`);
    await page.locator("fieldset.host").first().getByLabel("Password").fill(HOST_PASSWORD);
    await page.getByRole("button", { name: "Approve access" }).click();
    await page.waitForURL(/\/console\/requests\/\d+$/);
    assert.equal(await page.locator(".facts .badge").textContent(), "authorized");
    await page.getByText("Approved").first().waitFor();
    await page.getByText("Host checked").first().waitFor();
  });

  await t.test("the customer rejects another with a reason", async () => {
    await page.goto(`${base}/console/requests`);
    await page.getByRole("link", { name: "CS-E2E-02" }).click();
    await page.getByLabel("Rejection reason").fill("Please use the staging copy instead.");
    assert.match(await page.locator("[data-counter-for]").textContent(), /^264/);
    await page.getByRole("button", { name: "Reject request" }).click();
    await page.waitForURL(/\/console\/requests\/\d+$/);
    assert.equal(await page.locator(".facts .badge").textContent(), "rejected");
    await page.getByText("Please use the staging copy instead.").first().waitFor();
  });

  await t.test("the customer revokes the approved one, after a warning", async () => {
    await page.goto(`${base}/console/requests?status=1`);
    await page.getByRole("link", { name: "CS-E2E-01" }).click();
    await page.getByRole("link", { name: "Revoke" }).click();
    assert.match(await page.getByRole("alert").textContent(), /sessions will be cut/);
    await page.getByRole("button", { name: "Yes, revoke" }).click();
    await page.waitForURL(/\/console\/requests\/\d+$/);
    assert.equal(await page.locator(".facts .badge").textContent(), "canceled");
  });

  await t.test("a form post without the CSRF token is refused and changes nothing", async () => {
    await page.goto(`${base}/console/requests?status=0`);
    const href = await page.getByRole("link", { name: /CS2026/ }).first().getAttribute("href");
    const r = await page.context().request.post(`${base}${href}/reject`, {
      form: { reason: "forged" }, maxRedirects: 0,
    });
    assert.equal(r.status(), 403);
    await page.goto(`${base}${href}`);
    assert.equal(await page.locator(".facts .badge").textContent(), "pending");
  });

  await t.test("another tenant's request reads as not found", async () => {
    const { api, token } = await engineerToken();
    const list = await (await api.get("/provider/v1/authorizations?limit=100", {
      headers: { "X-Auth-Token": token } })).json();
    const other = list.authorizations.find((a) => a.incident_id === "CS-E2E-99");
    assert.ok(other, "the engineer's request for globex exists");
    const r = await page.goto(`${base}/console/requests/${other.id}`);
    assert.equal(r.status(), 404);
    await page.getByRole("heading", { name: "Not found" }).waitFor();
    await api.dispose();
  });

  await t.test("language switch, remembered; phone width", async () => {
    await page.goto(`${base}/console/requests`);
    await page.getByRole("link", { name: "中文" }).click();
    await page.getByRole("heading", { name: "授权请求" }).waitFor();
    await page.goto(`${base}/console/requests`);
    assert.equal(await page.locator("html").getAttribute("lang"), "zh-cn");
    await shot(page, "list-zh-desktop");
    const href = await page.getByRole("link", { name: /CS2026/ }).first().getAttribute("href");
    await page.goto(`${base}${href}`);
    await shot(page, "detail-zh-desktop");
    await page.setViewportSize(PHONE);
    await page.goto(`${base}/console/requests`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the list fits 360 px (overflows by ${overflow})`);
    await shot(page, "list-zh-phone");
    await page.goto(`${base}${href}/approve`);
    await shot(page, "approve-zh-phone");
    await page.getByRole("link", { name: "English" }).click();
    await page.getByRole("heading", { name: /^Approve access: CS2026/ }).waitFor();
    await page.goto(`${base}/console/requests`);
    assert.equal(await page.locator("html").getAttribute("lang"), "en-us");
    await assertAccessible(page, "the list at phone width");
    await shot(page, "list-en-phone");
    await page.goto(`${base}${href}`);
    await shot(page, "detail-en-phone");
    await page.setViewportSize(DESKTOP);
  });

  await t.test("the raised request reached the customer; an Accept-Language of zh picks Chinese", async () => {
    const zh = await newPage(DESKTOP, "zh-CN");
    await zh.goto(`${base}/console/login`);
    assert.equal(await zh.locator("html").getAttribute("lang"), "zh-cn");
    await zh.context().close();
  });

  await t.test("after sign-out the old cookie is refused", async () => {
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "sa_session");
    assert.ok(session);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/console\/login/);
    const replay = await httpRequest.newContext({
      baseURL: base, extraHTTPHeaders: { Cookie: `sa_session=${session.value}` },
    });
    const r = await replay.get("/console/requests", { maxRedirects: 0 });
    assert.equal(r.status(), 303);
    assert.match(r.headers()["location"], /\/console\/login/);
    await replay.dispose();
  });

  await t.test("the engineer sees the outcome and recalls nothing that is not pending", async () => {
    await engineer.goto(`${base}/console/mine`);
    const row = engineer.getByRole("row", { name: /CS-E2E-01/ });
    await row.getByText("canceled").waitFor();
    const pending = engineer.getByRole("row", { name: /CS-E2E-99/ });
    await pending.getByRole("button", { name: /Recall/ }).click();
    await engineer.getByRole("row", { name: /CS-E2E-99/ }).getByText("recalled").waitFor();
    await engineer.setViewportSize(PHONE);
    await shot(engineer, "mine-en-phone");
  });
});

/// The engineer's OpenSSH client through the broker, its output (stdout and stderr)
/// collected as it comes.
function brokerShell(keyFile, knownHosts, user) {
  const child = spawn("ssh", ["-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR", "-o", `UserKnownHostsFile=${knownHosts}`,
    "-i", keyFile, "-p", String(brokerPort), "-tt", `${user}@127.0.0.1`], { stdio: ["pipe", "pipe", "pipe"] });
  const shell = { child, output: "" };
  child.stdout.on("data", (d) => { shell.output += d; });
  child.stderr.on("data", (d) => { shell.output += d; });
  shell.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  shell.waitFor = async (needle, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!shell.output.includes(needle)) {
      assert.ok(Date.now() < deadline, `no ${JSON.stringify(needle)} in ${JSON.stringify(shell.output)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  shell.type = (keys) => child.stdin.write(keys);
  return shell;
}

/// The text a terminal player shows (asciinema-player renders its lines as text).
async function waitForScreen(player, needle, timeoutMs = 20_000) {
  await player.locator(".ap-term").waitFor({ timeout: timeoutMs });
  await player.getByText(needle).first().waitFor({ timeout: timeoutMs });
  return await player.textContent();
}

/// Plays the session page's recording to the session's last output; the screen's text.
async function playRecording(page) {
  const recording = page.locator("#recording-player");
  await recording.locator(".ap-term").waitFor();
  await recording.click();
  return await waitForScreen(recording, "got 17 chars", 30_000);
}

test("a broker session: live view, terminate, its recording", async () => {
  const TYPED_SECRET = "Typed-Secret-4711";
  // The engineer: an SSH key (the broker's host key pinned), a request for the sshd.
  const keyFile = join(dir, "broker_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e-broker", "-f", keyFile]);
  const hostKey = JSON.parse(cli("--output", "json", "ssh", "host-key"));
  const knownHosts = join(dir, "broker_known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${brokerPort} ${hostKey.public_key}\n`);
  const { api, token } = await engineerToken();
  const added = await api.post("/provider/v1/ssh-keys", { headers: { "X-Auth-Token": token },
    data: { public_key: readFileSync(`${keyFile}.pub`, "utf8").trim() } });
  assert.equal(added.status(), 201, await added.text());
  const engineer = await newPage();
  await signIn(engineer, "provider", "engineer", "engineer-demo-pass");
  await raise(engineer, { customer: "acme", submitter: "bob", incident: "CS-E2E-05",
    summary: "Look at the logs", host: "127.0.0.1", port: sshPort });
  const list = await (await api.get("/provider/v1/authorizations?limit=100", {
    headers: { "X-Auth-Token": token } })).json();
  const id = list.authorizations.find((a) => a.incident_id === "CS-E2E-05").id;
  const shown = await (await api.get(`/provider/v1/authorizations/${id}`, {
    headers: { "X-Auth-Token": token } })).json();
  const detail = shown.details[0].id;
  await api.dispose();
  await engineer.context().close();

  // The customer grants the sshd's account.
  const page = await newPage();
  await signIn(page, "acme", "alice", "alice-demo-pass");
  await page.goto(`${base}/console/requests/${id}/approve`);
  const host = page.locator("fieldset.host").first();
  await host.getByLabel("Account").fill(HOST_USER);
  await host.getByLabel("Password").fill(HOST_PASSWORD);
  await page.getByRole("button", { name: "Approve access" }).click();
  await page.waitForURL(/\/console\/requests\/\d+$/);
  assert.equal(await page.locator(".facts .badge").textContent(), "authorized");

  // The engineer's shell through the broker; the customer opens the live session.
  const shell = brokerShell(keyFile, knownHosts, `engineer:${detail}`);
  await shell.waitFor("$ ");
  await page.reload();
  await page.locator("a[href*='/sessions/']").first().click();
  await page.getByRole("heading", { name: /^Session \d+$/ }).waitFor();
  assert.equal(await page.locator("#session-state").textContent(), "open");
  assert.equal(await page.locator("#session-end").count(), 0);
  const live = page.locator("#live-player");
  await waitForScreen(live, "$");
  // Output written after the page opened reaches it: the command's output, not its echo.
  shell.type("echo live-$((6*7))-marker\r");
  await waitForScreen(live, "live-42-marker");
  // A password typed at a prompt that does not echo is not on the screen.
  shell.type("read -s -p 'password: ' pw; echo; echo \"got ${#pw} chars\"\r");
  await shell.waitFor("password: ");
  shell.type(`${TYPED_SECRET}\r`);
  const screen = await waitForScreen(live, "got 17 chars");
  assert.ok(!screen.includes(TYPED_SECRET), "the typed password is on the live view");
  await assertAccessible(page, "the session page with the live view");
  await shot(page, "session-live-en-desktop");

  // Terminate, after its confirmation: the engineer's client is cut with the reason.
  await page.getByRole("link", { name: "Terminate this session" }).click();
  assert.match(await page.getByRole("alert").textContent(), /connection is cut/);
  await assertAccessible(page, "the terminate confirmation");
  await page.getByLabel(/Reason shown to the engineer/).fill("enough for today");
  await page.getByRole("button", { name: "Yes, terminate" }).click();
  const code = await Promise.race([shell.exited, new Promise((r) => setTimeout(() => r("running"), 10_000))]);
  assert.notEqual(code, "running", "the ssh client still runs 10 s after terminate");
  assert.match(shell.output, /session closed: terminated by the customer: enough for today/);
  await page.locator("#session-state", { hasText: /^closed$/ }).waitFor({ timeout: 10_000 });
  assert.match(await page.locator("#session-end").textContent(), /terminated by the customer: enough for today/);
  assert.equal(await page.getByRole("link", { name: "Terminate this session" }).count(), 0);

  // The recording plays in the page: what the session printed, never the typed password.
  const played = await playRecording(page);
  assert.match(played, /live-42-marker/);
  assert.ok(!played.includes(TYPED_SECRET), "the typed password is in the recording");
  assert.ok(!(await page.locator("main").textContent()).includes(TYPED_SECRET),
    "the typed password is on the session page");
  const transcript = await page.context().request.get(
    `${page.url().replace(/\?.*$/, "")}/recording?format=text`);
  assert.match(await transcript.text(), /live-42-marker/);
  await assertAccessible(page, "the session page with the recording player");
  await shot(page, "session-en-desktop");
  await page.getByRole("link", { name: "中文" }).click();
  await page.getByRole("heading", { name: /^会话 \d+$/ }).waitFor();
  await playRecording(page);
  await shot(page, "session-zh-desktop");
  await page.setViewportSize(PHONE);
  await page.reload();
  await playRecording(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the session page fits 360 px (overflows by ${overflow})`);
  await shot(page, "session-zh-phone");
  await page.getByRole("link", { name: "English" }).click();
  await page.getByRole("heading", { name: /^Session \d+$/ }).waitFor();
  await playRecording(page);
  await shot(page, "session-en-phone");
  await page.context().close();
});

test("the API reference (/docs/api) renders from this server alone, within its CSP", async () => {
  const page = await newPage();
  const elsewhere = [];
  const refused = [];
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(base) && !url.startsWith("data:") && !url.startsWith("blob:")) elsewhere.push(url);
  });
  page.on("console", (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text()); });
  await page.goto(`${base}/docs/api`);
  // Redoc renders the document's operations and the security schemes.
  await page.getByRole("heading", { name: /ListAuthorizations:/ }).waitFor({ timeout: 30_000 });
  await page.getByRole("heading", { name: /Log in: Keystone/ }).waitFor();
  await page.getByText("X-Auth-Token").filter({ visible: true }).first().waitFor();
  await page.getByText("SDK-HMAC-SHA256").filter({ visible: true }).first().waitFor();
  await shot(page, "api-reference-desktop");
  assert.deepEqual(elsewhere, [], "requests to other origins");
  assert.deepEqual(refused, [], "CSP violations");
  await page.context().close();
});
