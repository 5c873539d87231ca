// Sandbox Civitai pages: drawn in the browser from the public REST API, like a Next.js app.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("__NEXT_DATA__").textContent);
  const root = document.querySelector("#__next main");
  const id = data.query.id;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  async function get(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error("HTTP " + response.status + " from " + path);
    return response.json();
  }

  async function modelPage() {
    const model = await get("/api/v1/models/" + id);
    document.title = model.name + " | Civitai (sandbox)";
    const tags = el("div", { class: "tags" });
    for (const tag of model.tags) tags.append(el("span", { class: "tag" }, tag));
    const article = el("article", { class: "model", "data-id": String(model.id) },
      el("h1", { class: "model-name" }, model.name),
      el("p", { class: "creator" }, "Uploaded by ", el("a", { href: "/user/" + model.creator.username }, model.creator.username)),
      tags);
    if (model.mode === "TakenDown") article.append(el("p", { class: "taken-down" }, "This model has been taken down"));
    for (const version of model.modelVersions) {
      const gallery = el("div", { class: "gallery" });
      for (const image of version.images) {
        gallery.append(el("a", { href: "/images/" + image.id }, el("img", { src: image.url, alt: model.name })));
      }
      const words = el("p", { class: "trained-words" }, "Trigger words: ");
      for (const word of version.trainedWords) words.append(el("code", {}, word), " ");
      const section = el("section", { class: "version", "data-version-id": String(version.id) },
        el("h2", {}, version.name + " · " + version.baseModel), words, gallery);
      if (version.downloadUrl) section.append(el("a", { class: "download", href: version.downloadUrl }, "Download"));
      article.append(section);
    }
    root.append(article);
  }

  async function imagePage() {
    const result = await get("/api/v1/images?withMeta=true&imageId=" + encodeURIComponent(id));
    const image = result.items[0];
    if (!image) throw new Error("image " + id + " not listed");
    const meta = image.meta || {};
    const resources = el("ul", { class: "resources" });
    for (const resource of meta.civitaiResources || []) {
      const version = await get("/api/v1/model-versions/" + resource.modelVersionId);
      resources.append(el("li", {}, el("a", { href: "/models/" + version.modelId + "?modelVersionId=" + version.id }, version.model.name), " " + resource.type));
    }
    root.append(el("article", { class: "image", "data-id": String(image.id) },
      el("img", { class: "artwork", src: image.url, alt: "image " + image.id }),
      el("p", { class: "creator" }, "by " + image.username),
      el("h2", {}, "Prompt"), el("pre", { class: "prompt" }, meta.prompt || ""),
      el("h2", {}, "Resources used"), resources));
  }

  (data.kind === "image" ? imagePage : modelPage)()
    .then(() => { root.dataset.state = "ready"; })
    .catch((error) => { root.dataset.state = "error"; root.append(el("p", { class: "error" }, String(error))); });
})();
