"use client";
import { memo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeSanitize from "rehype-sanitize";
import remarkGfm from "remark-gfm";

/**
 * Markdown for messages. Raw HTML in the text is shown as text (react-markdown never renders it
 * without rehype-raw, which we do not use), and the generated tree is sanitised on top.
 */

interface HastNode {
  type: string;
  value?: string;
  tagName?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

/** Raw HTML in the source becomes literal text (before sanitising, which would drop it silently). */
function rehypeRawAsText() {
  const walk = (node: HastNode) => {
    node.children?.forEach((child, i) => {
      if (child.type === "raw") node.children![i] = { type: "text", value: child.value ?? "" };
      else walk(child);
    });
  };
  return (tree: HastNode) => walk(tree);
}

/**
 * An answer or transcript loads nothing remote: a Markdown image becomes a link to it, named by its
 * alt text (or its address), which the sanitiser then checks like any link (a `javascript:` one
 * keeps only its text). Runs before sanitising.
 */
function rehypeImagesAsLinks() {
  const walk = (node: HastNode) => {
    node.children?.forEach((child, i) => {
      if (child.type === "element" && child.tagName === "img") {
        const src = typeof child.properties?.src === "string" ? child.properties.src : "";
        const alt = typeof child.properties?.alt === "string" ? child.properties.alt : "";
        node.children![i] = { type: "element", tagName: "a", properties: { href: src }, children: [{ type: "text", value: alt || src }] };
      } else walk(child);
    });
  };
  return (tree: HastNode) => walk(tree);
}

/** Turns citation markers like "[2]" in text into small superscript chips pointing at the sources. */
function rehypeCitations() {
  const walk = (node: HastNode) => {
    if (!node.children) return;
    if (node.tagName === "code" || node.tagName === "pre" || node.tagName === "a") return;
    const out: HastNode[] = [];
    for (const child of node.children) {
      if (child.type === "text" && child.value && /\[\d{1,2}\]/.test(child.value)) {
        const parts = child.value.split(/(\[\d{1,2}\])/);
        for (const part of parts) {
          const m = /^\[(\d{1,2})\]$/.exec(part);
          if (m) {
            out.push({
              type: "element",
              tagName: "sup",
              properties: { className: ["cite"], dataCite: m[1] },
              children: [{ type: "text", value: `[${m[1]}]` }],
            });
          } else if (part) out.push({ type: "text", value: part });
        }
      } else {
        walk(child);
        out.push(child);
      }
    }
    node.children = out;
  };
  return (tree: HastNode) => walk(tree);
}

const components: Components = {
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer nofollow" />,
  table: ({ node: _node, ...props }) => (
    <div className="md-table">
      <table {...props} />
    </div>
  ),
};

export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[rehypeRawAsText, rehypeImagesAsLinks, rehypeSanitize, rehypeCitations]}
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
});
