import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";

const render = (text: string) => renderToStaticMarkup(createElement(Markdown, { text }));

describe("Markdown loads nothing remote", () => {
  it("an image becomes a link to it, named by its alt text", () => {
    const html = render("See ![the cat](https://evil.example/track.png?u=1) here.");
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('href="https://evil.example/track.png?u=1"');
    expect(html).toContain(">the cat</a>");
  });
  it("an image without alt text is a link showing its address; a reference-style one too", () => {
    expect(render("![](https://evil.example/a.png)")).toContain(">https://evil.example/a.png</a>");
    const html = render("![logo][l]\n\n[l]: https://evil.example/l.png");
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('href="https://evil.example/l.png"');
  });
  it("an image with a script address is dropped to its text", () => {
    const html = render("![x](javascript:alert(1))");
    expect(html).not.toMatch(/<img|javascript:/i);
  });
  it("raw HTML images stay text", () => {
    expect(render('<img src="https://evil.example/x.png">')).not.toMatch(/<img/i);
  });
});
