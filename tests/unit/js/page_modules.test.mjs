// The guest page's files hold together as ES modules: one module script in the page,
// every import found, every module preloaded, nothing shared through window, and every
// module but the entry importable without a browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";

const PAGE = new URL("../../../lib/guestrec/guest_page/", import.meta.url);
const ENTRY = "guest.js";
const read = (name) => readFileSync(new URL(name, PAGE), "utf8");
const modules = readdirSync(PAGE).filter((f) => f.endsWith(".js")).sort();

function importsOf(name) {
  return [...read(name).matchAll(/^import\s[^;]*?from\s+"\.\/([^"]+)";/gm)].map((m) => m[1]);
}

function reachable() {
  const seen = new Set();
  const visit = (name) => {
    for (const dep of importsOf(name)) {
      if (!seen.has(dep)) { seen.add(dep); visit(dep); }
    }
  };
  visit(ENTRY);
  return seen;
}

test("the page loads one module script, guest.js, and preloads what it imports", () => {
  const html = read("index.html");
  const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1].trim());
  assert.deepEqual(scripts, ['type="module" src="static/guest.js"']);
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="static\/([^"]+)">/g)].map((m) => m[1]);
  assert.deepEqual(preloaded.slice().sort(), [...reachable()].sort());
});

test("every module is used and every import exists", () => {
  const used = reachable();
  used.add(ENTRY);
  assert.deepEqual(modules, [...used].sort());
  for (const name of modules) {
    for (const line of read(name).split("\n").filter((l) => /^import\s/.test(l))) {
      assert.match(line, /from "\.\/[a-z_]+\.js";$/, `${name}: ${line}`);
    }
  }
});

test("nothing goes between files through window; only the entry publishes for tests", () => {
  for (const name of modules) {
    const code = read(name).replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(code, /window\.Guest/, name);
    assert.doesNotMatch(code, /"use strict"/, `${name}: modules are strict anyway`);
    if (name !== ENTRY) assert.doesNotMatch(code, /window\.\w+\s*=[^=]/, `${name} publishes on window`);
  }
});

test("every module but the entry imports without a browser", async () => {
  assert.equal(typeof globalThis.window, "undefined");
  assert.equal(typeof globalThis.document, "undefined");
  for (const name of modules.filter((n) => n !== ENTRY)) {
    const module = await import(new URL(name, PAGE));
    assert.ok(Object.keys(module).length > 0, `${name} exports nothing`);
  }
});
