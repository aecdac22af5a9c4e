// The console's router: #/failures, #/messages, #/message/<id>, #/case/<urn>, #/figures.
import { ApiError, setToken, signOut, token } from "/console/api.js";
import { h } from "/console/dom.js";
import { failuresView } from "/console/failures.js";
import { figuresView } from "/console/figures.js";
import { messageView, messagesView } from "/console/messages.js";
import { timelineView } from "/console/timeline.js";

const main = document.getElementById("main");

function signInView() {
  const form = h("form", { class: "filters", "aria-label": "Sign in" },
    h("label", {}, "Bearer token",
      h("textarea", { name: "token", rows: 3, cols: 70, required: true, id: "token" })),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(new FormData(form).get("token"));
    route();
  });
  return [h("h1", {}, "Sign in"),
    h("p", {}, "Paste the bearer token your identity provider gave you (scope ops or manager)."),
    form];
}

function parse() {
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  return { parts, params: Object.fromEntries(new URLSearchParams(search)) };
}

export async function route() {
  const who = document.getElementById("who");
  if (!token()) {
    who.textContent = "";
    main.replaceChildren(...signInView());
    return;
  }
  who.replaceChildren("Signed in ", h("button", { class: "secondary", id: "sign-out",
    onclick: () => { signOut(); route(); } }, "Sign out"));
  const { parts, params } = parse();
  const [section, arg] = parts;
  try {
    let view;
    if (section === "message" && arg) view = await messageView(decodeURIComponent(arg));
    else if (section === "messages") view = await messagesView(params);
    else if (section === "case") view = await timelineView(arg ? decodeURIComponent(arg) : "");
    else if (section === "figures") view = await figuresView(params);
    else view = await failuresView(params);
    main.replaceChildren(...[view].flat(Infinity));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { signOut(); return route(); }
    main.replaceChildren(h("div", { class: "panel error", role: "alert" },
      err instanceof ApiError ? `${err.body.code || err.status}: ${err.message}` : String(err)));
  }
  document.body.dataset.ready = location.hash || "#/";
}

window.addEventListener("hashchange", route);
route();
