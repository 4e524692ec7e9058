/** Minimal HTML pages for answers outside the single-page portal (HMI hosts, redirects that failed). */

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** The CSP of these pages: no scripts, no styles, nothing loaded. */
export const MESSAGE_PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A page that says what happened and where to go; `link` is an absolute URL or path. */
export function messagePage(title: string, message: string, link?: { href: string; text: string }): string {
  const back = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>` : "";
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)} – Fernlink</title></head>` +
    `<body><main><h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(message)}</p>${back}</main></body></html>`
  );
}
