// The practice pages' behaviour, in plain JavaScript with no framework and no build step.
// Every piece of personal data comes from the /v1 JSON API, sent with the caller's identity: the API key saved in
// this browser when the server uses keys, otherwise a random id made up and kept in this browser, which the
// server uses as the answers' owner (header X-Practice-Identity). The API's own rules decide what anyone sees.
(() => {
  "use strict";

  const body = document.body;
  const KEY_ITEM = "answer-grader.api-key";
  const IDENTITY_ITEM = "answer-grader.identity";
  const IDENTITY_PATTERN = /^[A-Za-z0-9_-]{16,24}$/;
  const PAGE_SIZE = 200;
  const MAX_ATTEMPTS = 1000;
  const SVG = "http://www.w3.org/2000/svg";
  let reloadPage = () => {};

  // ---- storage and identity ------------------------------------------------------------------------------------

  // localStorage can be off (private windows, policies): fall back to memory for this page view.
  const memory = new Map();
  const store = {
    get(name) {
      try { return window.localStorage.getItem(name); } catch { return memory.get(name) ?? null; }
    },
    set(name, value) {
      try { window.localStorage.setItem(name, value); } catch { memory.set(name, value); }
    },
    remove(name) {
      try { window.localStorage.removeItem(name); } catch { memory.delete(name); }
    },
  };

  function browserIdentity() {
    let id = store.get(IDENTITY_ITEM);
    if (!id || !IDENTITY_PATTERN.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      store.set(IDENTITY_ITEM, id);
    }
    return id;
  }

  // `personal: false` is for data that belong to no candidate (calibration runs, for raters and admins): on the
  // open default the request then goes without a browser identity, as the server's own single user.
  function identityHeaders(personal) {
    if (body.dataset.auth !== "keys") return personal ? { "X-Practice-Identity": browserIdentity() } : {};
    const key = store.get(KEY_ITEM);
    if (!key) throw new ApiError("Enter your API key at the top of the page first.", 401);
    return { Authorization: `Bearer ${key}` };
  }

  // ---- the API -------------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  // Errors come back as problem+json; their `detail` says what to do, so that is what the page shows.
  async function api(path, { personal = true, ...options } = {}) {
    const headers = { Accept: "application/json", ...identityHeaders(personal), ...(options.headers || {}) };
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch {
      throw new ApiError("The server could not be reached; check that it is running, then try again.", 0);
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      const detail = data && typeof data.detail === "string" ? data.detail : response.statusText;
      throw new ApiError(detail || `The server answered ${response.status}.`, response.status);
    }
    return data;
  }

  async function allGrades() {
    const items = [];
    for (let offset = 0; offset < MAX_ATTEMPTS; offset += PAGE_SIZE) {
      const page = await api(`/v1/grades?limit=${PAGE_SIZE}&offset=${offset}`);
      items.push(...page.items);
      if (items.length >= page.total || page.items.length === 0) break;
    }
    return items;
  }

  // ---- small helpers -------------------------------------------------------------------------------------------

  // Builds elements with text children only, so answer text and API data can never become markup.
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  function svg(tag, attributes = {}, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    node.append(...children);
    return node;
  }

  const percent = (value) => `${Math.round(value * 100)}%`;
  const topicOf = (questionId) => questionId.split("/")[0];
  const practiceUrl = (questionId) => `/practice/${encodeURI(questionId)}`;
  const when = (iso) => new Date(iso).toLocaleString();

  function stagesText(grade) {
    if (grade.stages.includes("judge")) return "Both stages ran: stage 1 (sentence embeddings) and stage 2 (LLM judge).";
    const why = body.dataset.judge === "off" ? "no judge is configured" : "the judge was not used for this answer";
    return `Stage 1 only (sentence embeddings): ${why}.`;
  }

  function scoreText(grade) {
    if (grade.score === null) return `Unscored: ${grade.unscored_reason || "no score could be given"}`;
    const fallback = grade.status === "scored_stage1_fallback" ? " (the judge failed; stage 1 scored it)" : "";
    return `Score: ${percent(grade.score)}${fallback}`;
  }

  // Stage 2 gives a verdict; stage 1 alone gives a credit between 0 and 1, shown in the same three words.
  function verdictOf(point) {
    if (point.verdict) return point.verdict;
    if (point.credit >= 1) return "met";
    return point.credit <= 0 ? "missed" : "partial";
  }

  // ---- the API key form (servers with keys) --------------------------------------------------------------------

  function setupKeyForm() {
    const form = document.getElementById("key-form");
    if (!form) return;
    const input = form.querySelector("#api-key");
    const status = form.querySelector("#key-status");
    status.textContent = store.get(KEY_ITEM) ? "A key is saved in this browser." : "No key saved yet.";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (key) store.set(KEY_ITEM, key); else store.remove(KEY_ITEM);
      input.value = "";
      status.textContent = key ? "Key saved in this browser." : "Key removed from this browser.";
      reloadPage();
    });
  }

  // ---- practice home -------------------------------------------------------------------------------------------

  function setupHome() {
    const table = document.getElementById("questions");
    const rows = Array.from(table.tBodies[0].rows);
    const hide = document.getElementById("hide-answered");
    const status = document.getElementById("list-status");
    const error = document.getElementById("list-error");
    let answered = new Set();

    const apply = () => {
      let hidden = 0;
      for (const row of rows) {
        const done = answered.has(row.dataset.questionId);
        row.querySelector(".answered").textContent = done ? "Answered" : "";
        row.hidden = done && hide.checked;
        if (row.hidden) hidden += 1;
      }
      const note = hidden ? ` (${hidden} answered, hidden)` : "";
      status.textContent = `${rows.length - hidden} questions${note}.`;
    };
    hide.addEventListener("change", apply);

    document.getElementById("random-question").addEventListener("click", () => {
      const visible = rows.filter((row) => !row.hidden);
      if (visible.length === 0) {
        status.textContent = "No question left to pick with these filters.";
        return;
      }
      window.location.assign(visible[Math.floor(Math.random() * visible.length)].querySelector("a").href);
    });

    reloadPage = async () => {
      error.textContent = "";
      try {
        const data = await api("/v1/questions?answered=true&limit=500");
        answered = new Set(data.items.map((q) => q.id));
        apply();
      } catch (err) {
        error.textContent = `Could not tell which questions you have answered: ${err.message}`;
      }
    };
    reloadPage();
  }

  // ---- one question --------------------------------------------------------------------------------------------

  function setupPractice() {
    const form = document.getElementById("answer-form");
    const answer = document.getElementById("answer");
    const button = document.getElementById("submit-answer");
    const status = document.getElementById("grading-status");
    const error = document.getElementById("answer-error");
    const questionId = form.dataset.questionId;

    answer.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });

    const setBusy = (busy) => {
      form.setAttribute("aria-busy", String(busy));
      button.disabled = busy;
      button.textContent = busy ? "Grading…" : "Grade my answer";
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      setBusy(true);
      error.textContent = "";
      answer.removeAttribute("aria-invalid");
      status.textContent = "Grading your answer…";
      try {
        const grade = await api("/v1/grades", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question_id: questionId, answer: answer.value }),
        });
        renderGrade(grade);
        status.textContent = `Graded. ${scoreText(grade)}.`;
        document.getElementById("result-heading").focus();
        await revealReference(questionId);
      } catch (err) {
        status.textContent = "";
        error.textContent = err.message;
        // Only the answer's own problems (empty, too long) make the text box invalid; others are not its fault.
        if (err.status === 422 || err.status === 413) answer.setAttribute("aria-invalid", "true");
        answer.focus();
      } finally {
        setBusy(false);
      }
    });
  }

  function renderGrade(grade) {
    document.getElementById("score").textContent = scoreText(grade);
    document.getElementById("stages").textContent = stagesText(grade);
    document.getElementById("feedback").textContent = grade.feedback;

    document.getElementById("points").replaceChildren(...grade.points.map((point, index) => {
      const verdict = verdictOf(point);
      const item = el("li", { class: `point verdict-${verdict}`, "data-point-id": point.id },
        el("span", { class: "verdict" }, verdict[0].toUpperCase() + verdict.slice(1)), " ",
        el("span", { class: "point-text" }, point.text),
        el("span", { class: "credit" }, ` (credit ${percent(point.credit)})`));
      if (point.evidence) {
        item.append(el("p", { class: "evidence" }, `Evidence [${index + 1}]: `, el("q", {}, point.evidence.quote)));
      }
      if (point.contradiction) {
        item.append(el("p", { class: "reason" }, `This states the opposite of the point, like: ${point.contradiction}`));
      }
      if (point.hint && verdict !== "met" && verdict !== "contradicted") {
        item.append(el("p", { class: "hint" }, `Hint: ${point.hint}`));
      }
      if (point.reason) item.append(el("p", { class: "reason" }, point.reason));
      if (point.voided) item.append(el("p", { class: "voided" }, `Judge verdict discarded: ${point.voided}`));
      return item;
    }));

    const found = grade.misconceptions.filter((m) => m.detected);
    document.getElementById("misconceptions").replaceChildren(...(found.length === 0
      ? [el("li", {}, "None found.")]
      : found.map((m) => el("li", { class: "misconception" },
        el("strong", {}, "Misconception: "), m.text,
        m.correction ? el("p", {}, `What is true instead: ${m.correction}`) : null,
        m.evidence ? el("p", { class: "evidence" }, "In your answer: ", el("q", {}, m.evidence.quote)) : null))));

    const numeric = document.getElementById("numeric");
    numeric.hidden = !grade.numeric;
    if (grade.numeric) {
      const stated = grade.numeric.matched ? "your answer states it" : "your answer does not state it";
      numeric.textContent = `Exact value: ${grade.numeric.expected}; ${stated}.`;
    }

    highlight(document.getElementById("highlighted-answer"), grade.answer, grade.points);
    document.getElementById("result").hidden = false;
  }

  // Marks each key point's evidence in the answer, labelled with the point's number. Offsets count Unicode code
  // points (as Python does), hence Array.from rather than string indexing, which counts UTF-16 units.
  function highlight(container, text, points) {
    const chars = Array.from(text);
    const spans = points
      .map((point, index) => (point.evidence ? { start: point.evidence.start, end: point.evidence.end, n: index + 1 } : null))
      .filter((span) => span && span.start < span.end && span.end <= chars.length);
    const cuts = [...new Set([0, chars.length, ...spans.flatMap((s) => [s.start, s.end])])].sort((a, b) => a - b);
    const pieces = [];
    for (let i = 0; i + 1 < cuts.length; i += 1) {
      const [start, end] = [cuts[i], cuts[i + 1]];
      const piece = chars.slice(start, end).join("");
      const numbers = spans.filter((s) => s.start <= start && end <= s.end).map((s) => s.n);
      pieces.push(numbers.length === 0 ? piece
        : el("mark", {}, piece, el("span", { class: "mark-label" }, ` [${numbers.join(", ")}]`)));
    }
    container.replaceChildren(...pieces);
  }

  async function revealReference(questionId) {
    try {
      const question = await api(`/v1/questions/${encodeURI(questionId)}?include=rubric`);
      document.getElementById("reference-answer").textContent = question.rubric.reference_answer;
      document.getElementById("reference").hidden = false;
    } catch (err) {
      document.getElementById("answer-error").textContent = `Could not load the reference answer: ${err.message}`;
    }
  }

  // ---- history -------------------------------------------------------------------------------------------------

  function setupHistory() {
    const status = document.getElementById("history-status");
    const error = document.getElementById("history-error");
    const charts = document.getElementById("charts");
    const tbody = document.getElementById("attempts").tBodies[0];
    const labels = JSON.parse(charts.dataset.topicLabels);
    const label = (topic) => labels[topic] || topic;

    reloadPage = async () => {
      error.textContent = "";
      status.textContent = "Loading your attempts…";
      try {
        const [grades, questions] = await Promise.all([allGrades(), api("/v1/questions?limit=500")]);
        const prompts = new Map(questions.items.map((q) => [q.id, q.question]));
        tbody.replaceChildren(...grades.map((grade) => el("tr", {},
          el("td", {}, when(grade.created_at)),
          el("td", {}, el("a", { href: practiceUrl(grade.question_id) }, shorten(prompts.get(grade.question_id) || grade.question_id))),
          el("td", {}, label(topicOf(grade.question_id))),
          el("td", {}, grade.score === null ? "Unscored" : percent(grade.score)),
          el("td", {}, grade.stages.includes("judge") ? "1 and 2" : "1 only"))));
        drawCharts(charts, grades, label);
        status.textContent = grades.length === 0
          ? "No attempts yet: answer a question on the Practise page."
          : `${grades.length} ${grades.length === 1 ? "attempt" : "attempts"}.`;
      } catch (err) {
        status.textContent = "";
        error.textContent = `Could not load your attempts: ${err.message}`;
      }
    };
    reloadPage();
  }

  function shorten(text, limit = 100) {
    const first = text.trim().split("\n")[0];
    return first.length <= limit ? first : `${first.slice(0, limit - 1).trimEnd()}…`;
  }

  // One small chart per topic rather than one chart with a line per topic: no colour legend to decode.
  function drawCharts(container, grades, label) {
    const byTopic = new Map();
    for (const grade of grades.filter((g) => g.score !== null).reverse()) {
      const topic = topicOf(grade.question_id);
      if (!byTopic.has(topic)) byTopic.set(topic, []);
      byTopic.get(topic).push(grade);
    }
    const topics = [...byTopic.keys()].sort();
    container.replaceChildren(...topics.map((topic) => {
      const attempts = byTopic.get(topic);
      const scores = attempts.map((g) => percent(g.score));
      const best = percent(Math.max(...attempts.map((g) => g.score)));
      const caption = `${label(topic)}: ${attempts.length} scored ${attempts.length === 1 ? "attempt" : "attempts"}, `
        + `latest ${scores[scores.length - 1]}, best ${best}.`;
      return el("figure", { class: "chart" },
        chart(attempts, `Scores in ${label(topic)}, oldest first: ${scores.join(", ")}`), el("figcaption", {}, caption));
    }));
  }

  function chart(attempts, description) {
    const [width, height, left, right, top, bottom] = [280, 110, 40, 10, 10, 10];
    const times = attempts.map((g) => Date.parse(g.created_at));
    const [first, last] = [Math.min(...times), Math.max(...times)];
    const x = (t) => (last > first ? left + ((t - first) / (last - first)) * (width - left - right) : (left + width - right) / 2);
    const y = (score) => top + (1 - score) * (height - top - bottom);
    const picture = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": description });
    for (const level of [0, 0.5, 1]) {
      picture.append(
        svg("line", { x1: left, x2: width - right, y1: y(level), y2: y(level), class: "grid" }),
        svg("text", { x: left - 6, y: y(level) + 4, "text-anchor": "end", class: "axis" }, percent(level)));
    }
    const points = attempts.map((g, i) => [x(times[i]), y(g.score)]);
    picture.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "line" }));
    points.forEach(([cx, cy], i) => picture.append(svg("circle", { cx, cy, r: 3.5, class: "dot" },
      svg("title", {}, `${when(attempts[i].created_at)}: ${percent(attempts[i].score)}`))));
    return picture;
  }

  // ---- calibration runs ----------------------------------------------------------------------------------------

  function setupCalibrations() {
    const status = document.getElementById("calibrations-status");
    const error = document.getElementById("calibrations-error");
    const runs = document.getElementById("runs");
    const tbody = document.getElementById("calibrations").tBodies[0];
    const figure = (value, digits = 2) => (value === null || value === undefined ? "n/a" : value.toFixed(digits));

    reloadPage = async () => {
      error.textContent = "";
      status.textContent = "Loading calibration runs…";
      try {
        const list = await api("/v1/calibrations?limit=200", { personal: false });
        tbody.replaceChildren(...list.items.map((run) => {
          const o = run.overall;
          const button = el("button", { type: "button", "aria-label": `View report: ${run.name}` }, "View report");
          button.addEventListener("click", () => showReport(run));
          return el("tr", { "data-run-id": run.id },
            el("td", {}, run.name), el("td", {}, when(run.created_at)), el("td", {}, String(run.n)),
            el("td", {}, `${run.scale.min} to ${run.scale.max} by ${run.scale.step}`),
            el("td", {}, `${run.method}, stage${run.stages.length > 1 ? "s" : ""} ${run.stages.join(" + ")}`),
            el("td", {}, figure(o.pearson)), el("td", {}, figure(o.spearman)), el("td", {}, figure(o.qwk)),
            el("td", {}, figure(o.rmse)), el("td", {}, figure(o.mae)),
            el("td", {}, o.exact === null || o.exact === undefined ? "n/a" : percent(o.exact)),
            el("td", {}, button));
        }));
        runs.hidden = list.items.length === 0;
        status.textContent = list.items.length === 0
          ? "No calibration runs are stored yet."
          : `${list.total} calibration ${list.total === 1 ? "run" : "runs"}.`;
      } catch (err) {
        status.textContent = "";
        error.textContent = `Could not load the calibration runs: ${err.message}`;
      }
    };
    reloadPage();
  }

  // The report comes through the API (so a key can be sent) into a sandboxed frame: no scripts, no same origin.
  async function showReport(run) {
    const error = document.getElementById("calibrations-error");
    const heading = document.getElementById("report-heading");
    error.textContent = "";
    try {
      const html = await api(`/v1/calibrations/${encodeURIComponent(run.id)}/report.html`, {
        personal: false,
        headers: { Accept: "text/html" },
      });
      const frame = document.getElementById("report-frame");
      frame.title = `Calibration report: ${run.name}`;
      frame.srcdoc = html;
      heading.textContent = `Report: ${run.name}`;
      document.getElementById("report").hidden = false;
      heading.focus();
    } catch (err) {
      error.textContent = `Could not load the report: ${err.message}`;
    }
  }

  // ---- start ---------------------------------------------------------------------------------------------------

  const pages = { home: setupHome, practice: setupPractice, history: setupHistory, calibrations: setupCalibrations };
  setupKeyForm();
  const setup = pages[body.dataset.page];
  if (setup) setup();
})();
