/**
 * A strict RFC 8259 JSON parser for untrusted statement bytes.
 *
 * `JSON.parse` silently keeps the last of duplicate keys and has no nesting limit. Parsers that
 * disagree on duplicates let one signed text mean two things, so vpause refuses duplicates
 * outright, and bounds nesting before building anything. Only the four JSON whitespace characters
 * are skipped (a byte-order mark is not whitespace), numbers that overflow to ±Infinity are refused,
 * and `__proto__` is stored as an ordinary own property.
 */
import { VPauseError } from '../../src/core/errors.js';

/** Error codes of this module (mapped to statement codes by the callers). */
export type JsonErrorCode = 'JSON_MALFORMED' | 'JSON_TOO_DEEP' | 'JSON_DUPLICATE_KEY';

const WS = /[ \t\n\r]*/y;
const NUM = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STR = /"[^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*"/y;

class Parser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly maxDepth: number,
  ) {}

  fail(code: JsonErrorCode, why: string): never {
    throw new VPauseError<JsonErrorCode>(code, `json: ${why} at offset ${this.pos}`);
  }

  ws(): void {
    WS.lastIndex = this.pos;
    WS.exec(this.text);
    this.pos = WS.lastIndex;
  }

  token(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m === null) return undefined;
    this.pos = re.lastIndex;
    return m[0];
  }

  string(): string {
    const t = this.token(STR);
    if (t === undefined) this.fail('JSON_MALFORMED', 'invalid string');
    return JSON.parse(t) as string;
  }

  literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) this.fail('JSON_MALFORMED', 'unexpected token');
    this.pos += word.length;
  }

  value(depth: number): unknown {
    this.ws();
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 't':
        this.literal('true');
        return true;
      case 'f':
        this.literal('false');
        return false;
      case 'n':
        this.literal('null');
        return null;
      default: {
        const t = this.token(NUM);
        if (t === undefined) this.fail('JSON_MALFORMED', 'unexpected token');
        const n = Number(t);
        if (!Number.isFinite(n)) this.fail('JSON_MALFORMED', 'number out of range');
        return n;
      }
    }
  }

  object(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) this.fail('JSON_TOO_DEEP', `nesting deeper than ${this.maxDepth}`);
    this.pos++; // {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('JSON_MALFORMED', 'expected a member name');
      const key = this.string();
      if (seen.has(key))
        this.fail('JSON_DUPLICATE_KEY', `duplicate member name ${JSON.stringify(key)}`);
      seen.add(key);
      this.ws();
      if (this.text[this.pos] !== ':') this.fail('JSON_MALFORMED', "expected ':'");
      this.pos++;
      const v = this.value(depth);
      Object.defineProperty(out, key, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.ws();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail('JSON_MALFORMED', "expected ',' or '}'");
    }
  }

  array(depth: number): unknown[] {
    if (depth > this.maxDepth) this.fail('JSON_TOO_DEEP', `nesting deeper than ${this.maxDepth}`);
    this.pos++; // [
    const out: unknown[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail('JSON_MALFORMED', "expected ',' or ']'");
    }
  }
}

/**
 * Parses one JSON text strictly: RFC 8259 grammar, no duplicate member names, at most
 * `maxDepth` nested arrays/objects (the outermost container is depth 1).
 * @throws {VPauseError<JsonErrorCode>} JSON_MALFORMED, JSON_TOO_DEEP or JSON_DUPLICATE_KEY
 */
export function parseJsonStrict(text: string, maxDepth: number): unknown {
  const p = new Parser(text, maxDepth);
  const v = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.fail('JSON_MALFORMED', 'trailing data');
  return v;
}
