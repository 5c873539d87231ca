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

  function postCard(post) {
    const image = post.images[0];
    return el("a", { class: "card", href: "/gallery/posts/" + post.id, "data-kind": "post", "data-id": post.id },
      el("img", { src: image.url, alt: post.title, "data-width": String(image.width), "data-height": String(image.height) }),
      el("span", { class: "title" }, post.title));
  }

  function modelCard(model) {
    const cover = model.cover ? el("img", { src: model.cover.url, alt: model.name }) : el("div", { class: "no-cover" });
    return el("a", { class: "card", href: "/gallery/models/" + model.id, "data-kind": "model", "data-id": model.id },
      cover, el("span", { class: "title" }, model.name));
  }

  function feed(container, type) {
    let cursor = "";
    let hasMore = true;
    let loading = false;
    const grid = el("div", { class: "grid feed", id: type + "-feed", "data-has-more": "true" });
    const sentinel = el("div", { class: "sentinel", id: "sentinel" });
    container.append(grid, sentinel);
    async function more() {
      if (loading || !hasMore) return;
      loading = true;
      try {
        const result = await api("feed", { type: type, cursor: cursor, size: 20, sort: "NEWEST" });
        if (result.code !== "0") throw new Error(result.message);
        for (const item of result.data.items) grid.append(type === "models" ? modelCard(item) : postCard(item));
        cursor = result.data.cursor;
        hasMore = result.data.hasMore;
        grid.dataset.hasMore = String(hasMore);
      } finally {
        loading = false;
      }
      if (hasMore && sentinel.getBoundingClientRect().top < window.innerHeight) await more();
    }
    new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) more();
    }).observe(sentinel);
    return more();
  }

  async function home() {
    const result = await api("recommend", {});
    const recommended = el("section", { id: "recommended" }, el("h2", {}, "推荐 Recommended"));
    const grid = el("div", { class: "grid" });
    for (const model of result.data.models) grid.append(modelCard(model));
    for (const post of result.data.posts) grid.append(postCard(post));
    recommended.append(grid);
    const latest = el("section", { id: "latest" }, el("h2", {}, "最新 Latest"));
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

  const pages = { home: home, models: () => feed(app, "models"), post: post, model: model };
  (pages[page] || home)()
    .then(() => { if (app.dataset.state === "loading") app.dataset.state = "ready"; })
    .catch((error) => { app.dataset.state = "error"; app.append(el("p", { class: "error" }, String(error))); });
})();
