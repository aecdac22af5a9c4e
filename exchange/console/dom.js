// Building the page from data with textContent only: nothing from the API becomes markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function tag(text) { return h("span", { class: `tag ${text}` }, text); }

export function table(columns, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(r)))))));
}

export function when(iso) { return iso ? new Date(iso).toLocaleString("en-GB") : ""; }

export function panel(kind, ...children) { return h("div", { class: `panel ${kind}` }, ...children); }

export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  setTimeout(() => { if (el.textContent === text) el.textContent = ""; }, 4000);
}

export function field(label, attrs) { return h("label", {}, label, h("input", attrs)); }

export function formValues(form) {
  return Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v !== ""));
}
