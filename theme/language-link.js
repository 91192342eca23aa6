// A link to the same page in the book's other language, in the menu bar.
//
// The English book is built into book/html/ and each translation into
// book/html/<lang>/ (`cargo course serve` and `cargo course verify` do
// both), so the same page in Chinese is "zh-CN/" + its path, and back.
(function () {
  "use strict";
  const here = document.documentElement.lang;
  // mdBook defines path_to_root on every page ("" at the top, "../" deeper).
  // new URL("", page) is the page itself: "./" is its directory.
  const toRoot = typeof path_to_root === "string" && path_to_root !== "" ? path_to_root : "./";
  const root = new URL(toRoot, location.href);
  const page = location.href.startsWith(root.href) ? location.href.slice(root.href.length) : "";
  const translated = here !== "en";
  const link = document.createElement("a");
  link.className = "language-link";
  if (translated) {
    link.href = new URL("../" + page, root).href;
    link.textContent = "English";
    link.lang = "en";
    link.title = "Read this page in English";
  } else {
    link.href = new URL("zh-CN/" + page, root).href;
    link.textContent = "中文";
    link.lang = "zh-CN";
    link.title = "阅读本页的中文版";
  }
  const buttons = document.querySelector(".right-buttons");
  if (buttons) {
    buttons.prepend(link);
  }
})();
