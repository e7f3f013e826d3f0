// Entry point of webui/static/vendor/codemirror.bundle.js (see webui/static/vendor/README.md).
export { EditorView, basicSetup } from "codemirror";
export { EditorState, Compartment } from "@codemirror/state";
export { keymap, lineNumbers } from "@codemirror/view";
export { indentWithTab } from "@codemirror/commands";
export { indentUnit } from "@codemirror/language";
export { python } from "@codemirror/lang-python";
export { setDiagnostics, lintGutter, forEachDiagnostic } from "@codemirror/lint";
