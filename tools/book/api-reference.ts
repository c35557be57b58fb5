/**
 * The library's API reference, generated from the TSDoc comments of `lib/`
 * with the TypeScript compiler API, so that the book's appendix cannot
 * drift from the code.
 *
 * `generateApiReference(entry)` reads every symbol that `entry`
 * (lib/index.ts) exports and renders it as Markdown: classes with their
 * public members (including those inherited from an unexported base
 * class), functions, interfaces, type aliases and constants, grouped by the
 * file that declares them.
 *
 * Every export must have a doc comment, and so must every public method
 * and accessor of an exported class (a constructor may leave its
 * explanation to the class's comment). A symbol or member tagged
 * `@internal` is left out of the reference. A missing one is
 * an `UndocumentedError` listing each, with file and line; the
 * preprocessor turns it into a failed book build.
 */
import path from "node:path";
import ts from "typescript";

/** One symbol of the public API that has no doc comment. */
export interface Undocumented {
  /** `SharedMemory`, `SharedMemory.map`, `ErrorKind`. */
  symbol: string;
  /** Path relative to the project root. */
  file: string;
  /** 1-based. */
  line: number;
}

/** Thrown when part of the public API has no doc comment. */
export class UndocumentedError extends Error {
  constructor(readonly missing: readonly Undocumented[]) {
    super(
      [
        `${missing.length} exported symbol${missing.length === 1 ? " has" : "s have"} no doc comment; ` +
          "write a /** … */ comment above each (the API reference is generated from them):",
        ...missing.map((m) => `  ${m.file}:${m.line}  ${m.symbol}`),
      ].join("\n"),
    );
    this.name = "UndocumentedError";
  }
}

export interface GenerateOptions {
  /** Paths in messages are relative to this folder; default: the entry's parent's parent. */
  root?: string;
  /** Heading level of the per-file sections (`##`); symbols get one level more. Default 2. */
  level?: number;
}

/** Compiler options for reading the library (the project's, without emitting). */
function compilerOptions(root: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ESNext,
    module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    lib: ["lib.esnext.d.ts"],
    types: ["bun"],
    typeRoots: [path.join(root, "node_modules", "@types")],
  };
}

type Kind = "class" | "function" | "interface" | "type" | "const" | "enum";

/** An exported symbol with its declaration. */
interface Export {
  name: string;
  symbol: ts.Symbol;
  declaration: ts.Declaration;
  kind: Kind;
}

/** One member of a class or interface, as it will be listed. */
interface Member {
  /** What goes in the signature list: `map(options?: MapOptions): Mapping`. */
  signature: string;
  doc: string;
  static: boolean;
}

const DISPOSE_DOC = "Called by `using` when the block ends; see the class's description for what it releases.";

/**
 * Generates the reference for everything `entry` exports. Throws
 * `UndocumentedError` if an export or a public class member has no doc
 * comment.
 */
export function generateApiReference(entry: string, options: GenerateOptions = {}): string {
  const entryPath = path.resolve(entry);
  const root = path.resolve(options.root ?? path.join(path.dirname(entryPath), ".."));
  const level = options.level ?? 2;
  const program = ts.createProgram([entryPath], compilerOptions(root));
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entryPath);
  if (source === undefined) throw new Error(`api-reference: cannot read ${entry}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error(`api-reference: ${entry} is not a module (it exports nothing)`);

  const relative = (file: string) => path.relative(root, file) || file;
  const missing: Undocumented[] = [];
  const noteMissing = (symbol: string, node: ts.Node) => {
    const file = node.getSourceFile();
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    const where = { file: relative(file.fileName), line: line + 1 };
    // A member of an unexported base class is reported once, not per subclass.
    if (missing.some((m) => m.file === where.file && m.line === where.line)) return;
    missing.push({ symbol, ...where });
  };

  const exports = checker
    .getExportsOfModule(moduleSymbol)
    .map((symbol) => exportOf(symbol, checker))
    .filter((e): e is Export => e !== undefined && !isInternal(e.declaration));
  const exportedDeclarations = new Set(exports.map((e) => e.declaration));

  // Group by declaring file, files in the order the entry re-exports them.
  const { order, whole } = moduleOrder(source, program);
  const byFile = new Map<string, Export[]>(order.map((file) => [file, []]));
  for (const e of exports) {
    const file = e.declaration.getSourceFile().fileName;
    byFile.set(file, [...(byFile.get(file) ?? []), e]);
  }
  for (const [file, list] of byFile) if (list.length === 0) byFile.delete(file);

  const out: string[] = [];
  const h = (extra: number) => "#".repeat(level + extra);
  for (const [file, fileExports] of byFile) {
    out.push(`${h(0)} ${relative(file)}`, "");
    // A module exported whole (`export *`) is introduced by its header comment.
    const intro = whole.has(file) ? moduleDoc(fileExports[0]!.declaration.getSourceFile()) : "";
    if (intro !== "") out.push(intro, "");
    // Declaration order within the file reads best (a base before its subclasses).
    fileExports.sort((a, b) => a.declaration.getStart() - b.declaration.getStart());
    for (const e of fileExports) {
      const doc = docOf(e.symbol, checker);
      if (doc === "") noteMissing(e.name, e.declaration);
      out.push(`${h(1)} ${e.name}`, "");
      out.push(`<p class="api-kind">${e.kind} · <code>${relative(file)}</code></p>`, "");
      switch (e.kind) {
        case "class":
          out.push(...renderClass(e, checker, exportedDeclarations, noteMissing));
          break;
        case "interface":
          out.push(...renderInterface(e, checker));
          break;
        case "function":
          out.push(codeBlock(functionSignatures(e, checker)), "");
          if (doc !== "") out.push(doc, "");
          out.push(...tagsOf(e.symbol));
          break;
        default:
          out.push(codeBlock(declarationText(e, checker)), "");
          if (doc !== "") out.push(doc, "");
          out.push(...tagsOf(e.symbol));
      }
    }
  }
  if (missing.length > 0) throw new UndocumentedError(missing);
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

/**
 * The files an entry module re-exports from, depth first in the order of
 * its export declarations, and which of them it re-exports whole.
 */
function moduleOrder(entry: ts.SourceFile, program: ts.Program): { order: string[]; whole: Set<string> } {
  const order: string[] = [];
  const whole = new Set<string>();
  const visit = (file: ts.SourceFile, exportedWhole: boolean) => {
    if (exportedWhole) whole.add(file.fileName);
    if (order.includes(file.fileName)) return;
    order.push(file.fileName);
    for (const statement of file.statements) {
      if (!ts.isExportDeclaration(statement) || statement.moduleSpecifier === undefined) continue;
      const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
      const resolved = ts.resolveModuleName(specifier, file.fileName, program.getCompilerOptions(), ts.sys).resolvedModule;
      const target = resolved ? program.getSourceFile(resolved.resolvedFileName) : undefined;
      if (target !== undefined) visit(target, exportedWhole && statement.exportClause === undefined);
    }
  };
  visit(entry, true);
  return { order: order.slice(1), whole };
}

/** The exported symbol behind an export (through `export { x } from` aliases). */
function exportOf(exported: ts.Symbol, checker: ts.TypeChecker): Export | undefined {
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const declaration = symbol.declarations?.[0];
  if (declaration === undefined) return undefined;
  const kind = kindOf(declaration);
  if (kind === undefined) return undefined;
  return { name: exported.getName(), symbol, declaration, kind };
}

function kindOf(node: ts.Declaration): Kind | undefined {
  if (ts.isClassDeclaration(node)) return "class";
  if (ts.isFunctionDeclaration(node)) return "function";
  if (ts.isInterfaceDeclaration(node)) return "interface";
  if (ts.isTypeAliasDeclaration(node)) return "type";
  if (ts.isVariableDeclaration(node)) return "const";
  if (ts.isEnumDeclaration(node)) return "enum";
  return undefined;
}

/** A symbol's doc comment as Markdown ("" when there is none). */
function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return markdownOf(ts.displayPartsToString(symbol.getDocumentationComment(checker)));
}

/**
 * Turns doc-comment text into Markdown: `{@link X}` becomes code, a block
 * of lines indented by two or more spaces (an example, in this library's
 * comments) becomes a `ts` code block, and `<` outside code is escaped.
 */
export function markdownOf(text: string): string {
  if (text.trim() === "") return "";
  const linked = text.replace(/\{@link(?:code|plain)?\s+([^}|\s]+)(?:[\s|]+([^}]*))?\}/g, (_, target: string, label?: string) =>
    label ? `${label} (\`${target}\`)` : `\`${target}\``,
  );
  const blocks = linked.split(/\n[ \t]*\n/);
  return blocks
    .map((block) => {
      const lines = block.split("\n");
      if (lines.every((l) => /^ {2,}\S/.test(l) || l.trim() === "") && !/^\s*[-*] /.test(lines[0] ?? "")) {
        const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length));
        return codeBlock(lines.map((l) => l.slice(indent)).join("\n"));
      }
      return escapeProse(block);
    })
    .join("\n\n")
    .trim();
}

/** Escapes `<` and `>` outside inline code, so `Array<T>` is not read as HTML. */
function escapeProse(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, "&lt;").replace(/>/g, "&gt;")))
    .join("");
}

function codeBlock(code: string): string {
  return "```ts\n" + code + "\n```";
}

/** The leading doc comment of a file (`/** … *\/` before the first statement), as Markdown. */
function moduleDoc(file: ts.SourceFile): string {
  const first = file.statements[0];
  if (first === undefined) return "";
  const ranges = ts.getLeadingCommentRanges(file.text, first.getFullStart()) ?? [];
  const comment = ranges.map((r) => file.text.slice(r.pos, r.end)).find((c) => c.startsWith("/**"));
  if (comment === undefined) return "";
  const body = comment
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, ""))
    .join("\n");
  return markdownOf(body.trim());
}

/** `@param`, `@returns`, `@throws`, `@example` and `@deprecated` tags as Markdown. */
function tagsOf(symbol: ts.Symbol): string[] {
  return renderTags(symbol.getJsDocTags());
}

function renderTags(tags: readonly ts.JSDocTagInfo[]): string[] {
  const out: string[] = [];
  const params: string[] = [];
  for (const tag of tags) {
    const text = ts.displayPartsToString(tag.text).trim();
    switch (tag.name) {
      case "param": {
        const [name, ...rest] = text.split(/\s+/);
        params.push(`- \`${name}\`: ${escapeProse(rest.join(" ").replace(/^-\s*/, ""))}`);
        break;
      }
      case "returns":
      case "return":
        out.push(`**Returns** ${escapeProse(text)}`, "");
        break;
      case "throws":
        out.push(`**Throws** ${escapeProse(text)}`, "");
        break;
      case "example":
        out.push(text.startsWith("```") ? text : codeBlock(text), "");
        break;
      case "deprecated":
        out.push(`**Deprecated.** ${escapeProse(text)}`, "");
        break;
    }
  }
  return params.length > 0 ? ["**Parameters**", "", ...params, "", ...out] : out;
}

/** Whitespace runs (and line breaks) as single spaces. */
const squeeze = (text: string) => text.replace(/\s+/g, " ").trim();

/** A parameter as a reader should see it: defaults become `?`, destructuring becomes `options`. */
function parameterText(p: ts.ParameterDeclaration, checker: ts.TypeChecker): string {
  const rest = p.dotDotDotToken ? "..." : "";
  const name = ts.isIdentifier(p.name) ? p.name.text : "options";
  const optional = p.questionToken !== undefined || p.initializer !== undefined ? "?" : "";
  const type = p.type ? squeeze(p.type.getText()) : checker.typeToString(checker.getTypeAtLocation(p));
  return `${rest}${name}${optional}: ${type}`;
}

function parametersText(node: ts.SignatureDeclaration, checker: ts.TypeChecker): string {
  return node.parameters.map((p) => parameterText(p, checker)).join(", ");
}

function typeParametersText(node: ts.SignatureDeclaration | ts.ClassLikeDeclaration | ts.InterfaceDeclaration): string {
  return node.typeParameters ? `<${node.typeParameters.map((t) => squeeze(t.getText())).join(", ")}>` : "";
}

/** The return type as written, or as inferred. */
function returnText(node: ts.SignatureDeclaration, checker: ts.TypeChecker): string {
  if (node.type) return squeeze(node.type.getText());
  const signature = checker.getSignatureFromDeclaration(node);
  return signature ? checker.typeToString(checker.getReturnTypeOfSignature(signature)) : "unknown";
}

function functionSignatures(e: Export, checker: ts.TypeChecker): string {
  const declarations = (e.symbol.declarations ?? []).filter(ts.isFunctionDeclaration);
  // With overloads, the implementation signature is not part of the API.
  const visible = declarations.length > 1 ? declarations.filter((d) => d.body === undefined) : declarations;
  return visible
    .map((d) => `function ${e.name}${typeParametersText(d)}(${parametersText(d, checker)}): ${returnText(d, checker)}`)
    .join("\n");
}

/** Type aliases, constants and enums: their declaration without a value. */
function declarationText(e: Export, checker: ts.TypeChecker): string {
  const node = e.declaration;
  if (ts.isTypeAliasDeclaration(node)) {
    const params = node.typeParameters ? `<${node.typeParameters.map((t) => t.getText()).join(", ")}>` : "";
    return `type ${e.name}${params} = ${squeeze(node.type.getText()).replace(/^\| /, "")}`;
  }
  if (ts.isVariableDeclaration(node)) {
    const type = node.type ? squeeze(node.type.getText()) : checker.typeToString(checker.getTypeAtLocation(node));
    const keyword = node.parent.flags & ts.NodeFlags.Const ? "const" : "let";
    return `${keyword} ${e.name}: ${type}`;
  }
  if (ts.isEnumDeclaration(node)) {
    return `enum ${e.name} { ${node.members.map((m) => m.name.getText()).join(", ")} }`;
  }
  return e.name;
}

const modifiers = (node: ts.Node) => (ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : []);
const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) => modifiers(node).some((m) => m.kind === kind);

/** Marked `@internal`: public to TypeScript, but not part of the documented API. */
function isInternal(node: ts.Node): boolean {
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === "internal");
}

/** Whether a class member is part of the public API. */
function isPublicMember(node: ts.ClassElement): boolean {
  if (node.name !== undefined && ts.isPrivateIdentifier(node.name)) return false;
  return !hasModifier(node, ts.SyntaxKind.PrivateKeyword) && !hasModifier(node, ts.SyntaxKind.ProtectedKeyword);
}

/** A member's name as written: `map`, `[Symbol.dispose]`. */
function memberName(node: ts.ClassElement | ts.TypeElement): string {
  return node.name === undefined ? "" : node.name.getText();
}

/** Classes from this one up its `extends` chain (the class itself first). */
function classChain(node: ts.ClassDeclaration, checker: ts.TypeChecker): ts.ClassDeclaration[] {
  const chain = [node];
  let current: ts.ClassDeclaration | undefined = node;
  while (current !== undefined) {
    const heritage: ts.ExpressionWithTypeArguments | undefined = current.heritageClauses
      ?.find((c) => c.token === ts.SyntaxKind.ExtendsKeyword)
      ?.types[0];
    if (heritage === undefined) break;
    let symbol = checker.getSymbolAtLocation(heritage.expression);
    if (symbol !== undefined && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    const base = symbol?.declarations?.find(ts.isClassDeclaration);
    if (base === undefined) break;
    chain.push(base);
    current = base;
  }
  return chain;
}

/** The `extends`/`implements` text of a class: the first exported or outside base, plus interfaces. */
function heritageText(chain: ts.ClassDeclaration[], ownChain: ts.ClassDeclaration[], exported: Set<ts.Declaration>): string {
  let extendsText = "";
  const implementsTexts = new Set<string>();
  // An exported base shows its own `implements`; unexported ones are folded in here.
  for (const node of ownChain) {
    for (const clause of node.heritageClauses ?? []) {
      for (const type of clause.types) {
        if (clause.token === ts.SyntaxKind.ImplementsKeyword) implementsTexts.add(squeeze(type.getText()));
      }
    }
  }
  for (let i = 0; i < chain.length; i++) {
    const base = chain[i + 1];
    const clause = chain[i]!.heritageClauses?.find((c) => c.token === ts.SyntaxKind.ExtendsKeyword);
    if (clause === undefined) break;
    if (base === undefined || exported.has(base) || isOutsideProject(base)) {
      extendsText = ` extends ${squeeze(clause.types[0]!.getText())}`;
      break;
    }
  }
  const impl = implementsTexts.size > 0 ? ` implements ${[...implementsTexts].join(", ")}` : "";
  return extendsText + impl;
}

function isOutsideProject(node: ts.Node): boolean {
  const file = node.getSourceFile().fileName;
  return file.includes("/node_modules/") || node.getSourceFile().isDeclarationFile;
}

function renderClass(
  e: Export,
  checker: ts.TypeChecker,
  exported: Set<ts.Declaration>,
  noteMissing: (symbol: string, node: ts.Node) => void,
): string[] {
  const node = e.declaration as ts.ClassDeclaration;
  const chain = classChain(node, checker);
  // Members come from this class and from unexported bases (which the
  // reader cannot look up); an exported base has its own section.
  const ownChain: ts.ClassDeclaration[] = [];
  for (const c of chain) {
    if (c !== node && (exported.has(c) || isOutsideProject(c))) break;
    ownChain.push(c);
  }
  const inheritedFrom = chain[ownChain.length];

  const members: Member[] = [];
  const seen = new Set<string>();
  const skeleton: string[] = [];
  // Nearest class first, so an override hides the base's member.
  const constructor = ownChain.flatMap((c) => c.members.filter(ts.isConstructorDeclaration)).find((m) => m.body !== undefined);
  if (constructor !== undefined && ownChain.indexOf(constructor.parent as ts.ClassDeclaration) === 0 && isPublicMember(constructor)) {
    const signature = `new ${e.name}(${parametersText(constructor, checker)})`;
    const constructorSignature = checker.getSignatureFromDeclaration(constructor);
    const doc = markdownOf(ts.displayPartsToString(constructorSignature?.getDocumentationComment(checker) ?? []));
    // A constructor may leave its explanation to the class's comment.
    const tags = renderTags(constructorSignature?.getJsDocTags() ?? []);
    members.push({ signature, doc: [doc, ...tags].filter((t) => t !== "").join("\n\n"), static: false });
    skeleton.push(`  constructor(${parametersText(constructor, checker)});`);
    // Parameter properties (`constructor(readonly side: number)`) are members too.
    for (const p of constructor.parameters) {
      if (!ts.isIdentifier(p.name) || !ts.isParameterPropertyDeclaration(p, constructor)) continue;
      if (hasModifier(p, ts.SyntaxKind.PrivateKeyword) || hasModifier(p, ts.SyntaxKind.ProtectedKeyword)) continue;
      const readonly = hasModifier(p, ts.SyntaxKind.ReadonlyKeyword) ? "readonly " : "";
      const type = p.type ? squeeze(p.type.getText()) : checker.typeToString(checker.getTypeAtLocation(p));
      const rendered = `${readonly}${p.name.text}: ${type}`;
      // Its doc: a comment on the parameter itself, or the constructor's @param.
      const own = ts
        .getJSDocCommentsAndTags(p)
        .filter(ts.isJSDoc)
        .map((d) => ts.getTextOfJSDocComment(d.comment) ?? "");
      const tagged = ts.getJSDocParameterTags(p).map((tag) => ts.getTextOfJSDocComment(tag.comment) ?? "");
      const paramDoc = [...own, ...tagged].join(" ").trim().replace(/^-\s*/, "");
      seen.add(p.name.text);
      members.push({ signature: rendered, doc: escapeProse(paramDoc), static: false });
      skeleton.push(`  ${rendered};`);
    }
  }
  for (const c of ownChain) {
    for (const m of c.members) {
      if (ts.isConstructorDeclaration(m) || ts.isClassStaticBlockDeclaration(m) || ts.isSemicolonClassElement(m)) continue;
      if (!isPublicMember(m) || isInternal(m)) continue;
      const isStatic = hasModifier(m, ts.SyntaxKind.StaticKeyword);
      const name = memberName(m);
      const key = `${isStatic ? "static " : ""}${name}${ts.isSetAccessor(m) ? " set" : ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (ts.isMethodDeclaration(m) && m.body === undefined && hasModifier(m, ts.SyntaxKind.AbstractKeyword)) continue;
      const rendered = renderMember(m, checker, isStatic);
      if (rendered === undefined) continue;
      const symbol = m.name ? checker.getSymbolAtLocation(m.name) : undefined;
      let doc = symbol ? docOf(symbol, checker) : "";
      const callable = ts.isMethodDeclaration(m) || ts.isGetAccessor(m) || ts.isSetAccessor(m);
      if (doc === "" && name === "[Symbol.dispose]") doc = DISPOSE_DOC;
      if (doc === "" && callable) noteMissing(`${e.name}.${name}`, m);
      const tags = symbol ? tagsOf(symbol) : [];
      members.push({ signature: rendered, doc: [doc, ...tags].filter((t) => t !== "").join("\n\n"), static: isStatic });
      skeleton.push(`  ${rendered};`);
    }
  }

  const heritage = heritageText(chain, ownChain, exported);
  const abstract = hasModifier(node, ts.SyntaxKind.AbstractKeyword) ? "abstract " : "";
  const out: string[] = [];
  out.push(codeBlock(`${abstract}class ${e.name}${typeParametersText(node)}${heritage} {\n${skeleton.join("\n")}\n}`.replace("{\n\n}", "{}")), "");
  const doc = docOf(e.symbol, checker);
  if (doc !== "") out.push(doc, "");
  out.push(...tagsOf(e.symbol));
  if (inheritedFrom !== undefined && !isOutsideProject(inheritedFrom) && inheritedFrom.name !== undefined) {
    const base = inheritedFrom.name.text;
    out.push(`Inherits the members of [\`${base}\`](#${base.toLowerCase()}).`, "");
  }
  const ordered = [...members.filter((m) => m.signature.startsWith("new ")), ...members.filter((m) => m.static), ...members.filter((m) => !m.static && !m.signature.startsWith("new "))];
  if (ordered.length > 0) {
    out.push("**Members**", "");
    for (const m of ordered) {
      out.push(`- \`${m.signature}\`${m.doc === "" ? "" : `\\\n${indentItem(m.doc)}`}`);
    }
    out.push("");
  }
  return out;
}

/**
 * Indents Markdown so it continues a list item. The item's first line (the
 * signature) ends with a backslash, a hard line break, so the description
 * starts on a line of its own.
 */
function indentItem(markdown: string): string {
  return markdown
    .split("\n")
    .map((line) => (line === "" ? "" : `  ${line}`))
    .join("\n");
}

/** One class member's signature, or undefined for members that are not shown. */
function renderMember(m: ts.ClassElement, checker: ts.TypeChecker, isStatic: boolean): string | undefined {
  const prefix = isStatic ? "static " : "";
  const name = memberName(m);
  if (ts.isMethodDeclaration(m)) {
    return `${prefix}${name}${typeParametersText(m)}(${parametersText(m, checker)}): ${returnText(m, checker)}`;
  }
  if (ts.isGetAccessor(m)) return `${prefix}get ${name}(): ${returnText(m, checker)}`;
  if (ts.isSetAccessor(m)) return `${prefix}set ${name}(${parametersText(m, checker)})`;
  if (ts.isPropertyDeclaration(m)) {
    const readonly = hasModifier(m, ts.SyntaxKind.ReadonlyKeyword) ? "readonly " : "";
    const optional = m.questionToken ? "?" : "";
    const type = m.type ? squeeze(m.type.getText()) : checker.typeToString(checker.getTypeAtLocation(m));
    return `${prefix}${readonly}${name}${optional}: ${type}`;
  }
  return undefined;
}

function renderInterface(e: Export, checker: ts.TypeChecker): string[] {
  const declarations = (e.symbol.declarations ?? []).filter(ts.isInterfaceDeclaration);
  const first = declarations[0]!;
  const heritage = first.heritageClauses?.map((c) => squeeze(c.getText())).join(" ") ?? "";
  const lines: string[] = [];
  const listed: string[] = [];
  for (const d of declarations) {
    for (const m of d.members) {
      const text = squeeze(m.getText().replace(/\/\*\*[\s\S]*?\*\//g, "")).replace(/;$/, "");
      lines.push(`  ${text};`);
      const symbol = m.name ? checker.getSymbolAtLocation(m.name) : undefined;
      const doc = symbol ? docOf(symbol, checker) : "";
      listed.push(`- \`${text}\`${doc === "" ? "" : `\\\n${indentItem(doc)}`}`);
    }
  }
  const out = [codeBlock(`interface ${e.name}${typeParametersText(first)}${heritage ? ` ${heritage}` : ""} {\n${lines.join("\n")}\n}`), ""];
  const doc = docOf(e.symbol, checker);
  if (doc !== "") out.push(doc, "");
  out.push(...tagsOf(e.symbol));
  if (listed.length > 0) out.push("**Members**", "", ...listed, "");
  return out;
}
