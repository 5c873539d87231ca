// Sandbox gallery: every item on the page is drawn here from the internal JSON API.
(function () {
  "use strict";
  const app = document.getElementById("app");
  const page = app.dataset.page;
  const itemId = app.dataset.id;

  async function api(path, body) {
    const response = await fetch("/gallery/api/v1/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    if (!response.ok) throw new Error("HTTP " + response.status + " from " + path);
    return response.json();
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // Class names are generated at build time on the real sites: meaningless and unstable.
  function cls(name) {
    let h = 2166136261;
    for (const c of "pixelhub:" + name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    return "_" + h.toString(36).slice(0, 6);
  }

  function postCard(post) {
    const image = post.images[0];
    return el("a", { class: cls("card"), href: "/gallery/posts/" + post.id },
      el("img", { src: image.url, alt: post.title, class: cls("cover") }),
      el("span", { class: cls("card-title") }, post.title));
  }

  function modelCard(model) {
    const cover = model.cover ? el("img", { src: model.cover.url, alt: model.name, class: cls("cover") }) : el("div", { class: cls("no-cover") });
    return el("a", { class: cls("card"), href: "/gallery/models/" + model.id },
      cover, el("span", { class: cls("card-title") }, model.name));
  }

  // An infinite feed inside its own scroll container, virtualised: only the rows near the
  // visible window are in the DOM (about 20 cards), as react-window/vue-virtual-scroller do.
  const COLS = 4, ROW = 220, BUFFER = 1;
  function feed(container, type, keyword) {
    const items = [];
    let cursor = "", hasMore = true, loading = false;
    const scroller = el("div", { class: cls("scroller"), role: "feed",
      style: "height: 640px; overflow-y: auto; position: relative" });
    const spacer = el("div", { class: cls("spacer"), style: "position: relative; width: 100%; height: 0" });
    scroller.append(spacer);
    container.append(scroller);
    function render() {
      const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - BUFFER);
      const rows = Math.ceil(scroller.clientHeight / ROW) + 2 * BUFFER;
      const end = Math.min(items.length, (first + rows) * COLS);
      spacer.style.height = (Math.ceil(items.length / COLS) * ROW) + "px";
      const cards = [];
      for (let i = first * COLS; i < end; i++) {
        const card = type === "models" ? modelCard(items[i]) : postCard(items[i]);
        card.style.cssText = "position: absolute; height: " + (ROW - 12) + "px; width: 24%; top: " +
          (Math.floor(i / COLS) * ROW) + "px; left: " + ((i % COLS) * 25) + "%";
        cards.push(card);
      }
      spacer.replaceChildren(...cards);
    }
    async function more() {
      if (loading || !hasMore) return;
      loading = true;
      try {
        const result = await api("feed", { type: type, cursor: cursor, size: 20, sort: "NEWEST", keyword: keyword || "" });
        if (result.code !== "0") throw new Error(result.message);
        items.push(...result.data.items);
        cursor = result.data.cursor;
        hasMore = result.data.hasMore;
        render();
      } finally {
        loading = false;
      }
      if (hasMore && scroller.scrollHeight <= scroller.clientHeight + ROW) await more();
    }
    scroller.addEventListener("scroll", () => {
      render();
      if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - ROW) more();
    });
    return more();
  }

  async function home() {
    const result = await api("recommend", {});
    const grid = el("div", { class: cls("grid") });
    for (const model of result.data.models) grid.append(modelCard(model));
    for (const post of result.data.posts) grid.append(postCard(post));
    const recommended = el("section", { class: cls("section") }, el("h2", {}, "推荐 Recommended"), grid);
    const latest = el("section", { class: cls("section") }, el("h2", {}, "最新 Latest"));
    app.append(recommended, latest);
    await feed(latest, "posts");
  }

  function removed(message) {
    app.dataset.state = "removed";
    app.append(el("h1", { class: "removed" }, message));
  }

  async function post() {
    const result = await api("post/detail", { id: itemId });
    if (result.code !== "0") return removed(result.message);
    const work = result.data;
    const image = work.images[0];
    const used = el("ul", { class: "models-used" });
    for (const model of image.generationData.models) {
      used.append(el("li", {}, el("a", { href: "/gallery/models/" + model.modelId }, model.label), " (" + model.type + ")"));
    }
    app.append(
      el("article", { class: "post", "data-id": work.id },
        el("h1", { class: "post-title" }, work.title),
        el("img", { class: "artwork", src: image.url, alt: work.title }),
        el("p", { class: "owner" }, "by " + work.owner.nickname),
        el("h2", {}, "Prompt"), el("pre", { class: "prompt" }, image.generationData.prompt),
        el("h2", {}, "Models"), used));
  }

  async function model() {
    const result = await api("model/detail", { id: itemId });
    if (result.code !== "0") return removed(result.message);
    const info = result.data;
    const version = info.versions[0];
    const samples = el("div", { class: "grid samples" });
    for (const sample of version.images) samples.append(postCard(sample));
    const tags = el("div", { class: "tags" });
    for (const tag of info.tags) tags.append(el("span", { class: "tag" }, tag.name), " ");
    app.append(
      el("article", { class: "model", "data-id": info.id },
        el("h1", { class: "model-name" }, info.name),
        el("p", { class: "owner" }, "by " + info.owner.nickname),
        el("p", { class: "trigger" }, "Trigger word: ", el("code", {}, version.triggerWord)),
        tags,
        el("p", {}, el("a", { class: "download", href: version.file.downloadUrl }, "Download " + version.file.name)),
        el("h2", {}, "Samples"), samples));
  }

  function search() {
    const keyword = new URLSearchParams(window.location.search).get("keyword") || "";
    app.append(el("h1", {}, "搜索 Search: " + keyword));
    return feed(app, "posts", keyword);
  }

  const pages = { home: home, models: () => feed(app, "models"), search: search, post: post, model: model };
  (pages[page] || home)()
    .then(() => { if (app.dataset.state === "loading") app.dataset.state = "ready"; })
    .catch((error) => { app.dataset.state = "error"; app.append(el("p", { class: "error" }, String(error))); });
})();
