/**
 * Finding fenced code blocks in a chapter's Markdown and replacing them.
 *
 * This is a deliberately small, line-based scanner, not a full CommonMark
 * parser. It finds the fenced code blocks that are unambiguous from the
 * line alone and leaves everything else byte-for-byte untouched:
 *
 * - A fence opens on a line indented by 0-3 spaces with at least three
 *   backticks or tildes. Such a line always starts a code block, whatever
 *   container it is in (a list item's content offset is at most its own
 *   indentation, and fences cannot be lazy continuation lines), so the
 *   scanner needs no knowledge of lists.
 * - Lines indented by 4 or more spaces (or a tab) are never taken as
 *   fences: they may be an indented code block, or a fence inside a nested
 *   list, which only a full parse can tell apart. mdBook renders those
 *   itself, unchanged.
 * - Lines inside a raw HTML block (types 1-6 of the CommonMark spec) and
 *   inside other fenced blocks are not scanned for fences.
 * - Fences inside block quotes (`> ```ts`) do not start at the line's
 *   indentation and are left to mdBook.
 * - A fence that is never closed runs to the end of the chapter in
 *   CommonMark; the scanner leaves it, and everything after it, unchanged.
 */

/** One fenced code block found in the Markdown. */
export interface FencedBlock {
  /** The whole info string after the fence, trimmed (`ts,ignore`). */
  info: string;
  /** The language: the info string's first word, lower-cased (`ts`). */
  lang: string;
  /** The code, with the fence's indentation removed and no final newline. */
  code: string;
  /** Spaces before the opening fence (0-3). */
  indent: number;
}

/**
 * Called for each fenced block; returns the HTML (one line, no newline) to
 * put in its place, or `null` to keep the block as it is.
 */
export type BlockRenderer = (block: FencedBlock) => string | null;

const OPENING_FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;

/** HTML block start conditions 1-5, each with its end condition. */
const HTML_BLOCKS_WITH_END_MARKER: ReadonlyArray<{ start: RegExp; end: RegExp }> = [
  { start: /^ {0,3}<(?:pre|script|style|textarea)(?:\s|>|$)/i, end: /<\/(?:pre|script|style|textarea)>/i },
  { start: /^ {0,3}<!--/, end: /-->/ },
  { start: /^ {0,3}<\?/, end: /\?>/ },
  { start: /^ {0,3}<![A-Za-z]/, end: />/ },
  { start: /^ {0,3}<!\[CDATA\[/, end: /\]\]>/ },
];

/** HTML block start condition 6 (block-level tags); ends at a blank line. */
const HTML_BLOCK_TAGS =
  "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h1|h2|h3|h4|h5|h6|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul";
const HTML_BLOCK_TYPE_6 = new RegExp(`^ {0,3}</?(?:${HTML_BLOCK_TAGS})(?:\\s|/?>|$)`, "i");

/** The language named by an info string: its first word, lower-cased. */
export function languageOf(info: string): string {
  // Attributes may follow a comma (`ts,ignore`), a space (`ts title=x`) or
  // a brace (`ts{1,3}`).
  const first = info.trim().split(/[\s,{]/, 1)[0] ?? "";
  return first.toLowerCase();
}

/** Removes up to `count` leading spaces from a line. */
function stripIndent(line: string, count: number): string {
  let i = 0;
  while (i < count && line[i] === " ") i++;
  return line.slice(i);
}

/** A line without its line ending. */
function bare(line: string): string {
  return line.replace(/\r?\n$/, "");
}

const isBlank = (line: string): boolean => /^[ \t]*$/.test(line);

/**
 * Returns `markdown` with every fenced code block the scanner recognises
 * replaced by `render`'s HTML; all other text is returned unchanged.
 *
 * A replaced block at the left margin becomes a single-line HTML block with
 * a blank line before and after it. An indented block (in a list item,
 * say) keeps its indentation and gets no extra blank lines, which would
 * turn a tight list into a loose one. As the HTML is a single line starting
 * with `<pre`, CommonMark's HTML block type 1 ends right there, at its
 * `</pre>`, whatever the code contains.
 */
export function replaceFencedBlocks(markdown: string, render: BlockRenderer): string {
  // Keep every line's own ending so untouched text round-trips exactly.
  const lines = markdown.split(/(?<=\n)/);
  const out: string[] = [];
  let i = 0;

  while (i < lines.length) {
    const raw = lines[i] ?? "";
    const line = bare(raw);

    // Raw HTML blocks: copy them through without looking for fences.
    const htmlEnd = HTML_BLOCKS_WITH_END_MARKER.find((b) => b.start.test(line))?.end;
    if (htmlEnd !== undefined) {
      let j = i;
      while (j < lines.length && !htmlEnd.test(bare(lines[j] ?? ""))) j++;
      const last = Math.min(j, lines.length - 1);
      out.push(...lines.slice(i, last + 1));
      i = last + 1;
      continue;
    }
    if (HTML_BLOCK_TYPE_6.test(line)) {
      let j = i;
      while (j < lines.length && !isBlank(bare(lines[j] ?? ""))) j++;
      out.push(...lines.slice(i, j));
      i = j;
      continue;
    }

    const open = OPENING_FENCE.exec(line);
    const fence = open?.[2];
    const info = (open?.[3] ?? "").trim();
    // A backtick fence's info string may not contain a backtick (that line
    // is inline code instead).
    if (open === null || fence === undefined || (fence[0] === "`" && info.includes("`"))) {
      out.push(raw);
      i++;
      continue;
    }

    const indent = open[1]?.length ?? 0;
    const fenceChar = fence[0] === "`" ? "`" : "~";
    // The closing fence: the same character, at least as long, nothing but
    // spaces after it. It may be indented up to 3 spaces (more inside an
    // indented list item, where it usually lines up with the opening one).
    const maxCloseIndent = Math.max(3, indent);
    const closing = new RegExp(`^ {0,${maxCloseIndent}}\\${fenceChar}{${fence.length},}[ \\t]*$`);
    let close = i + 1;
    while (close < lines.length && !closing.test(bare(lines[close] ?? ""))) close++;
    if (close >= lines.length) {
      // Unclosed: CommonMark makes the rest of the chapter code. Leave it.
      out.push(...lines.slice(i));
      break;
    }

    const code = lines
      .slice(i + 1, close)
      .map((l) => stripIndent(bare(l), indent))
      .join("\n");
    const html = render({ info, lang: languageOf(info), code, indent });
    if (html === null) {
      out.push(...lines.slice(i, close + 1));
    } else {
      const ending = (lines[close] ?? "").endsWith("\n") ? "\n" : "";
      if (indent === 0) {
        // Blank line before (unless there is one already) and after.
        const previous = out.length > 0 ? bare(out[out.length - 1] ?? "") : "";
        if (out.length > 0 && !isBlank(previous)) out.push("\n");
        // A blank line after, unless the source has one already or the
        // chapter ends here.
        const next = lines[close + 1];
        out.push(next === undefined || isBlank(bare(next)) ? `${html}${ending}` : `${html}\n\n`);
      } else {
        out.push(`${" ".repeat(indent)}${html}${ending}`);
      }
    }
    i = close + 1;
  }
  return out.join("");
}
