/* The provider page: sign in with a registry token, see the unit's free places, change them in two clicks.
 * The token lives in this closure only: never in storage, cookies, the URL or the DOM after sign-in. */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const MAX = 1000;
  let token = null;
  let me = null;
  let current = null;

  const MESSAGES = {
    401: "Nyckeln gäller inte (okänd, felskriven eller återkallad). Kontrollera den och försök igen.",
    403: "Din nyckel får inte rapportera för den här enheten.",
    404: "Enheten finns inte i registret.",
    409: "Ändringen krockar med registrets innehåll.",
    413: "För mycket text.",
    422: "Antalet måste vara ett heltal från 0 till 1000 och noteringen högst 200 tecken.",
  };

  function message(status, retryAfter) {
    if (status === 429) {
      const s = Number(retryAfter) || 60;
      const wait = s < 90 ? `${s} sekunder` : `${Math.ceil(s / 60)} minuter`;
      return `För många misslyckade försök. Vänta ${wait} och försök igen.`;
    }
    if (status === 0) return "Kunde inte nå servern. Kontrollera anslutningen och försök igen.";
    return MESSAGES[status] || `Något gick fel (kod ${status}). Försök igen.`;
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
      });
    } catch (e) {
      throw Object.assign(new Error(message(0)), { status: 0 });
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      throw Object.assign(new Error(message(res.status, res.headers.get("Retry-After"))), { status: res.status });
    }
    return data;
  }

  function showError(text) {
    const box = $("error");
    box.textContent = "";
    const p = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = "Fel: ";
    p.append(strong, text);
    box.append(p);
    box.hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error").textContent = "";
  }

  function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

  function age(seconds) {
    if (seconds < 60) return "nyss";
    const min = Math.round(seconds / 60);
    if (min < 60) return `för ${plural(min, "minut", "minuter")} sedan`;
    const h = Math.round(seconds / 3600);
    if (h < 48) return `för ${plural(h, "timme", "timmar")} sedan`;
    return `för ${plural(Math.round(seconds / 86400), "dygn", "dygn")} sedan`;
  }

  function localTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return d.toLocaleString("sv-SE", { timeZone: "Europe/Stockholm", dateStyle: "short", timeStyle: "short" });
  }

  function showCurrent(a) {
    current = a;
    $("stale-hours").textContent = String(Math.round((a.stale_after_s || 86400) / 3600));
    const value = $("current");
    const when = $("current-age");
    value.classList.toggle("stale", a.status === "stale");
    value.classList.toggle("none", a.status === "none");
    if (a.status === "none") {
      value.textContent = "Ingen rapport ännu";
      when.textContent = "Remittenter ser att uppgift saknas.";
    } else {
      const places = a.free_places === 0 ? "0 lediga platser (fullt)" : plural(a.free_places, "ledig plats", "lediga platser");
      value.textContent = (a.status === "stale" ? "Inaktuell: " : "") + places;
      when.textContent = `Rapporterat ${age(a.age_s)} (${localTime(a.reported_at)})` +
        (a.note ? ` – ”${a.note}”` : "") + ".";
    }
    $("places").value = a.free_places === null ? "0" : String(a.free_places);
    $("note").value = a.note || "";
    $("confirm").hidden = a.status === "none";
  }

  function unitId() {
    return $("unit").value;
  }

  async function loadCurrent() {
    const a = await api("GET", `/v1/units/${encodeURIComponent(unitId())}/availability`);
    showCurrent(a);
  }

  function fillUnits(units) {
    const select = $("unit");
    select.textContent = "";
    for (const u of units) {
      const option = document.createElement("option");
      option.value = u.id;
      option.textContent = u.unit;
      select.append(option);
    }
    $("unit-pick").hidden = units.length < 2;
  }

  async function signIn(event) {
    event.preventDefault();
    clearError();
    const input = $("token");
    const value = input.value.trim();
    if (!value) {
      input.setAttribute("aria-invalid", "true");
      showError("Skriv eller klistra in din nyckel.");
      input.focus();
      return;
    }
    token = value;
    $("login-button").disabled = true;
    try {
      me = await api("GET", "/v1/me");
      let units = me.units;
      if (me.role !== "provider") {
        const all = await api("GET", "/v1/providers");
        units = all.map((u) => ({ id: u.id, unit: u.unit }));
      }
      if (!units.length) throw Object.assign(new Error("Nyckeln hör inte till någon enhet."), { status: 403 });
      fillUnits(units);
      input.value = "";  // the token stays in memory only, not in the page
      input.removeAttribute("aria-invalid");
      const role = { provider: "leverantör", contract_manager: "avtalsansvarig", admin: "administratör" }[me.role] || me.role;
      $("who").textContent = `Inloggad som ${me.name} (${role}).`;
      $("status").textContent = "";
      await loadCurrent();
      $("login").hidden = true;
      $("report").hidden = false;
      $("report-heading").focus();
    } catch (e) {
      token = null;
      me = null;
      input.setAttribute("aria-invalid", "true");
      showError(e.message);
      input.focus();
    } finally {
      $("login-button").disabled = false;
    }
  }

  function step(delta) {
    const input = $("places");
    const n = Number.parseInt(input.value, 10);
    const next = Math.min(MAX, Math.max(0, (Number.isFinite(n) ? n : 0) + delta));
    input.value = String(next);
    $("status").textContent = `Nytt antal: ${next}. Tryck Spara.`;
  }

  async function save(event, sameAsNow) {
    if (event) event.preventDefault();
    clearError();
    const input = $("places");
    const n = sameAsNow ? current.free_places : Number(input.value);
    if (!Number.isInteger(n) || n < 0 || n > MAX) {
      input.setAttribute("aria-invalid", "true");
      showError("Antalet måste vara ett heltal från 0 till 1000.");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    const note = (sameAsNow ? current.note || "" : $("note").value).trim();
    $("save").disabled = true;
    $("confirm").disabled = true;
    try {
      const a = await api("PUT", `/v1/units/${encodeURIComponent(unitId())}/availability`,
        { free_places: n, note: note || null });
      showCurrent(a);
      $("status").textContent = `Sparat: ${plural(a.free_places, "ledig plats", "lediga platser")}, rapporterat ${localTime(a.reported_at)}.`;
    } catch (e) {
      showError(e.message);
      if (e.status === 401) signOut(false);
    } finally {
      $("save").disabled = false;
      $("confirm").disabled = false;
    }
  }

  function signOut(announce = true) {
    token = null;
    me = null;
    current = null;
    $("report").hidden = true;
    $("login").hidden = false;
    $("token").focus();
    if (announce) {
      clearError();
      $("status").textContent = "";
    }
  }

  $("login").addEventListener("submit", signIn);
  $("update").addEventListener("submit", (e) => save(e, false));
  $("confirm").addEventListener("click", () => save(null, true));
  $("minus").addEventListener("click", () => step(-1));
  $("plus").addEventListener("click", () => step(1));
  $("unit").addEventListener("change", () => { clearError(); $("status").textContent = ""; loadCurrent().catch((e) => showError(e.message)); });
  $("logout").addEventListener("click", () => signOut(true));
})();
