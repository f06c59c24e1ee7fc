/**
 * A deliberately small Markdown renderer for the model card: headings, paragraphs, lists, block quotes, fenced
 * code, pipe tables, and inline code / bold / italic / links. It builds DOM nodes with text content only, so
 * the card is displayed, never executed. Anything it does not understand shows as plain text.
 */
import { h } from './dom.ts';

const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/g;

/** Inline spans of one line of text. */
export function renderInline(text: string): Node[] {
  const nodes: Node[] = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    const index = match.index ?? 0;
    if (index > last) nodes.push(document.createTextNode(text.slice(last, index)));
    const token = match[0];
    if (match[1]) nodes.push(h('code', {}, token.slice(1, -1)));
    else if (match[2]) nodes.push(h('strong', {}, ...renderInline(token.slice(2, -2))));
    else if (match[3]) nodes.push(h('em', {}, ...renderInline(token.slice(1, -1))));
    else nodes.push(link(token));
    last = index + token.length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function link(token: string): Node {
  const [, label, href] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token) ?? [];
  // Only web links become anchors: javascript: and other schemes stay text.
  if (!href || !/^https?:\/\//i.test(href)) return document.createTextNode(label ?? token);
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, label);
}

function splitRow(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());
}

const isTableSeparator = (line: string) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);
const LIST_ITEM = /^\s*(?:[-*+]|\d+[.)])\s+/;

function table(lines: string[]): HTMLElement {
  const [head, , ...body] = lines;
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          splitRow(head).map((cell) => h('th', { scope: 'col' }, ...renderInline(cell))),
        ),
      ),
      h(
        'tbody',
        {},
        body.map((row) =>
          h(
            'tr',
            {},
            splitRow(row).map((cell) => h('td', {}, ...renderInline(cell))),
          ),
        ),
      ),
    ),
  );
}

/** Renders Markdown into a fragment of safe DOM nodes. */
export function renderMarkdown(source: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  const takeWhile = (test: (line: string) => boolean): string[] => {
    const taken: string[] = [];
    while (i < lines.length && test(lines[i])) taken.push(lines[i++]);
    return taken;
  };
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') {
      i++;
    } else if (line.startsWith('```')) {
      i++;
      const code = takeWhile((l) => !l.startsWith('```'));
      i++;
      fragment.append(h('pre', {}, h('code', {}, code.join('\n'))));
    } else if (/^#{1,6}\s/.test(line)) {
      const level = Math.min(6, (/^#+/.exec(line)?.[0].length ?? 1) + 1);
      fragment.append(h(`h${level}` as 'h2', {}, ...renderInline(line.replace(/^#+\s*/, ''))));
      i++;
    } else if (line.includes('|') && i + 1 < lines.length && isTableSeparator(lines[i + 1])) {
      fragment.append(table(takeWhile((l) => l.includes('|'))));
    } else if (LIST_ITEM.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items = takeWhile((l) => LIST_ITEM.test(l) || /^\s{2,}\S/.test(l));
      const merged: string[] = [];
      for (const item of items) {
        if (LIST_ITEM.test(item)) merged.push(item.replace(LIST_ITEM, ''));
        else merged[merged.length - 1] += ` ${item.trim()}`;
      }
      fragment.append(
        h(
          ordered ? 'ol' : 'ul',
          {},
          merged.map((item) => h('li', {}, ...renderInline(item))),
        ),
      );
    } else if (line.startsWith('>')) {
      const quote = takeWhile((l) => l.startsWith('>')).map((l) => l.replace(/^>\s?/, ''));
      fragment.append(h('blockquote', {}, h('p', {}, ...renderInline(quote.join(' ')))));
    } else {
      const paragraph = takeWhile(
        (l) => l.trim() !== '' && !/^(#{1,6}\s|```|>)/.test(l) && !LIST_ITEM.test(l),
      );
      fragment.append(h('p', {}, ...renderInline(paragraph.join(' '))));
    }
  }
  return fragment;
}
