import { describe, expect, it } from "vitest";
import { excerptFrom, renderMarkdown, slugify } from "../src/blog/markdown.ts";

describe("renderMarkdown", () => {
  it("renders GFM: headings, lists, code with language class, quotes, tables, emphasis", () => {
    const html = renderMarkdown(
      [
        "## Setting up",
        "",
        "Some *em*, **strong** and ~~gone~~ text.",
        "",
        "1. first",
        "2. second",
        "",
        "```ts",
        "const a = 1 < 2;",
        "```",
        "",
        "> quoted",
        "",
        "| a | b |",
        "|:--|--:|",
        "| 1 | 2 |",
        "",
        "---",
      ].join("\n"),
    );
    // Section headings get a prefixed id and a "#" link (issue 11).
    expect(html).toContain('<h2 id="h-setting-up">Setting up <a class="heading-anchor" href="#h-setting-up" aria-label="Link to this section">#</a></h2>');
    expect(html).toContain("<em>em</em>");
    expect(html).toContain("<strong>strong</strong>");
    expect(html).toContain("<del>gone</del>");
    expect(html).toContain("<ol>");
    // focusable: it may scroll sideways; highlighted on the server (issue 11)
    expect(html).toContain(
      '<pre tabindex="0"><code class="hljs language-ts"><span class="hljs-keyword">const</span> a = <span class="hljs-number">1</span> &lt; <span class="hljs-number">2</span>;',
    );
    expect(html).toContain("<blockquote>");
    expect(html).toContain('<th align="left">a</th>');
    expect(html).toContain('<td align="right">2</td>');
    expect(html).toContain("<hr />");
  });

  it("marks external links nofollow noopener, leaves relative and same-site links alone", () => {
    const html = renderMarkdown("[ext](https://example.com/a) [rel](/blog/) [site](http://folio.test/x) [mail](mailto:a@example.com)");
    expect(html).toContain('<a href="https://example.com/a" rel="nofollow noopener">ext</a>');
    expect(html).toContain('<a href="/blog/">rel</a>');
    expect(html).toContain('<a href="http://folio.test/x">site</a>');
    expect(html).toContain('<a href="mailto:a@example.com">mail</a>');
  });

  it("drops a rel or other attributes written by the author", () => {
    const html = renderMarkdown('<a href="/x" rel="opener" target="_blank" id="i" class="c">x</a>');
    expect(html).toBe('<p><a href="/x">x</a></p>');
  });

  it("keeps http(s) images, drops relative, data: and javascript: images", () => {
    const html = renderMarkdown('![ok](https://img.example/a.png "T") ![rel](/a.png) ![d](data:image/png;base64,AAAA) ![j](javascript:alert(1))');
    // Another site's image loads lazily and is not told which page shows it (issue 11).
    expect(html).toContain('<img src="https://img.example/a.png" alt="ok" title="T" loading="lazy" decoding="async" referrerpolicy="no-referrer" />');
    expect(html.match(/<img/g)).toHaveLength(1);
    expect(html).not.toContain("data:");
    expect(html).not.toContain("javascript:");
  });

  const payloads: Array<[string, string]> = [
    ["script tag", "<script>alert(1)</script>hello"],
    ["script in svg", "<svg><script>alert(1)</script></svg>"],
    ["img onerror", '<img src="https://x.example/a.png" onerror="alert(1)">'],
    ["img onerror unquoted", "<img src=x onerror=alert(1)>"],
    ["javascript link (markdown)", "[x](javascript:alert(1))"],
    ["javascript link (mixed case)", '<a href="JaVaScRiPt:alert(1)">x</a>'],
    ["javascript link (entity tab)", '<a href="java&#09;script:alert(1)">x</a>'],
    ["javascript link (entities)", '<a href="&#106;avascript:alert(1)">x</a>'],
    ["data: link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"],
    ["vbscript link", '<a href="vbscript:msgbox(1)">x</a>'],
    ["iframe", '<iframe src="https://evil.example"></iframe>'],
    ["object/embed", '<object data="x.swf"></object><embed src="x.swf">'],
    ["style attribute", '<p style="background:url(javascript:alert(1))">x</p>'],
    ["style tag", "<style>body{display:none}</style>"],
    ["onclick on allowed tag", '<p onclick="alert(1)">x</p>'],
    ["form and text input", '<form action="/x"><input type="text" name="q"><button>go</button></form>'],
    ["meta refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'],
    ["protocol-relative link", '<a href="//evil.example/x">x</a>'],
    ["srcset", '<img src="https://a.example/x.png" srcset="javascript:alert(1)">'],
  ];
  for (const [name, md] of payloads) {
    it(`neutralises: ${name}`, () => {
      const html = renderMarkdown(md).toLowerCase();
      expect(html).not.toMatch(/<script|<iframe|<object|<embed|<style|<form|<meta|<svg/);
      expect(html).not.toMatch(/\son[a-z]+=/);
      expect(html).not.toMatch(/style=/);
      expect(html).not.toMatch(/javascript:|vbscript:|data:/);
      expect(html).not.toMatch(/href="\/\//);
      expect(html).not.toMatch(/srcset|type="text"/);
    });
  }

  it("keeps the text of dropped tags but not the content of script/style", () => {
    expect(renderMarkdown("<script>alert(1)</script>hello")).toBe("hello");
    expect(renderMarkdown("<div><span>kept</span></div>")).toBe("kept");
  });

  it("allows only language-* classes on code", () => {
    const html = renderMarkdown('<code class="evil language-js">x</code>');
    expect(html).toContain('<code class="language-js">x</code>');
    expect(html).not.toContain("evil");
  });

  it("makes every code block focusable (it may scroll sideways) and keeps no other attribute on pre", () => {
    expect(renderMarkdown('<pre tabindex="-1" onclick="x()" class="y">a</pre>')).toBe('<pre tabindex="0">a</pre>');
  });

  it("renders task lists as disabled checkboxes", () => {
    const html = renderMarkdown("- [x] done\n- [ ] todo");
    expect(html).toContain('<input type="checkbox" disabled checked aria-label="Done" />');
    expect(html).toContain('<input type="checkbox" disabled aria-label="Not done" />');
  });

  it("handles empty and huge input", () => {
    expect(renderMarkdown("")).toBe("");
    const big = "word ".repeat(50_000);
    expect(renderMarkdown(big).length).toBeGreaterThan(200_000);
  });
});

describe("excerptFrom", () => {
  it("returns plain text without Markdown, HTML, code blocks or images", () => {
    const md =
      "# Title\n\nHello **world** &amp; <b>friends</b>.\n\n```js\nsecret()\n```\n\n- one\n- two [link](http://x)\n\n![alt](http://x/y.png)\n\n<script>alert(1)</script>";
    const ex = excerptFrom(md);
    expect(ex).toBe("Hello world & friends. one two link");
    expect(ex).not.toMatch(/[<>*#`[\]]/);
  });

  it("leaves headings out of the prose, unless the post has nothing else", () => {
    expect(excerptFrom("## Measuring it\n\nTesting the failure path.\n\n### Next\n\nMore.")).toBe("Testing the failure path. More.");
    expect(excerptFrom("# Only a title\n\n## And a subtitle")).toBe("Only a title And a subtitle");
  });

  it("cuts at the word count with an ellipsis", () => {
    expect(excerptFrom("a b c d e f", 3)).toBe("a b c …");
    expect(excerptFrom("a b c", 3)).toBe("a b c");
    expect(excerptFrom("one two", 0)).toBe("…");
    expect(excerptFrom("")).toBe("");
  });

  it("defaults to 40 words", () => {
    const ex = excerptFrom(Array.from({ length: 100 }, (_, i) => `w${i}`).join(" "));
    expect(ex.split(" ")).toHaveLength(41);
    expect(ex.endsWith("w39 …")).toBe(true);
  });
});

describe("slugify", () => {
  it.each([
    ["Hello, World!", "hello-world"],
    ["  Django's   ORM: the basics  ", "djangos-orm-the-basics"],
    ["Crème brûlée & C++ in 2026", "creme-brulee-and-c-in-2026"],
    ["Straße", "strasse"],
    ["Привет мир", "privet-mir"],
    ["Ελληνικά", "ellinika"],
    ["already-a-slug", "already-a-slug"],
    ["--Leading and trailing--", "leading-and-trailing"],
  ])("%s -> %s", (title, slug) => {
    expect(slugify(title)).toBe(slug);
  });

  it("never returns an empty slug", () => {
    for (const t of ["", "   ", "---", "!!!", "日本語", "🙂🙂"]) expect(slugify(t)).toBe("post");
  });

  it("is at most 250 characters, cut at a word boundary, no trailing hyphen", () => {
    const s = slugify("word ".repeat(100));
    expect(s.length).toBeLessThanOrEqual(250);
    expect(s).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(slugify("x".repeat(400))).toHaveLength(250);
  });

  it("only ever contains lowercase ASCII letters, digits and single hyphens", () => {
    for (const t of ["<script>alert(1)</script>", "a/b\\c?d#e", "%00%2F..", "Ünïcödé ÀÉÎÕÜ ﬁ", "tab\there\nnewline"]) {
      expect(slugify(t)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });
});
