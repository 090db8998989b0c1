// What a browser without JavaScript submits from a page's form: used by the soak's editors
// (src/soak/*) and, re-exported by tests/support/html.ts, by the tests.
import { Parser } from "htmlparser2";

/**
 * What a browser without JavaScript submits from the first <form> whose attributes `which` accepts (any
 * form: the first) of a page left as shown: its text inputs, ticked checkboxes, textareas and selected options (a name given
 * twice: a list). Submit buttons are not included.
 */
export function formValues(html: string, which: (attrs: Record<string, string>) => boolean = () => true): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const add = (name: string | undefined, value: string) => {
    if (!name) return;
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  };
  let inForm = false;
  let done = false;
  let textarea: { name?: string; text: string } | null = null;
  let select: { name?: string; chosen?: string; first?: string } | null = null;
  let option: { value?: string; selected: boolean; text: string } | null = null;
  const parser = new Parser(
    {
      onopentag(tag, a) {
        if (done) return;
        if (tag === "form" && !inForm && which(a)) inForm = true;
        if (!inForm) return;
        if (tag === "input") {
          const type = (a.type ?? "text").toLowerCase();
          if (["submit", "button", "image", "reset", "file"].includes(type) || a.disabled !== undefined) return;
          if ((type === "checkbox" || type === "radio") && a.checked === undefined) return;
          add(a.name, a.value ?? (type === "checkbox" ? "on" : ""));
        } else if (tag === "textarea") textarea = { name: a.name, text: "" };
        else if (tag === "select") select = { name: a.name };
        else if (tag === "option" && select) option = { value: a.value, selected: a.selected !== undefined, text: "" };
      },
      ontext(t) {
        if (textarea) textarea.text += t;
        if (option) option.text += t;
      },
      onclosetag(tag) {
        if (!inForm || done) return;
        if (tag === "textarea" && textarea) {
          add(textarea.name, textarea.text.replace(/^\n/, ""));
          textarea = null;
        } else if (tag === "option" && option && select) {
          const v = option.value ?? option.text;
          if (select.first === undefined) select.first = v;
          if (option.selected) select.chosen = v;
          option = null;
        } else if (tag === "select" && select) {
          add(select.name, select.chosen ?? select.first ?? "");
          select = null;
        } else if (tag === "form") done = true;
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return out;
}

/** A form body as a browser encodes it: a list value as its name repeated. */
export function formBody(values: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  return q.toString();
}
