// API errors for people: each GraphQL error's `extensions.field` (the input path, such as
// `input.http.headers[0].name`) becomes a key the form shows next to that field.
import type { CombinedError } from "@urql/core";
import { ApiError } from "./transport";

export type FieldErrors = Record<string, string>;

export interface ErrorReport {
  /** Messages by field key: the input path without the argument name (`http.url`). */
  fields: FieldErrors;
  /** Messages that concern no field, or a field the page does not show. */
  general: string[];
  /** The first error's code (`validation_error`, `forbidden`, `not_found`, …). */
  code: string | null;
}

interface ErrorLike {
  message: string;
  extensions?: { code?: unknown; field?: unknown } | null;
}

/** `input.schedule.cron` → `schedule.cron`; `email` stays `email`. */
export function fieldKey(path: string, argument = "input"): string {
  return path.startsWith(`${argument}.`) ? path.slice(argument.length + 1) : path;
}

export function reportErrors(errors: readonly ErrorLike[], argument = "input"): ErrorReport {
  const report: ErrorReport = { fields: {}, general: [], code: null };
  for (const error of errors) {
    const code = typeof error.extensions?.code === "string" ? error.extensions.code : null;
    report.code ??= code;
    const field = typeof error.extensions?.field === "string" ? error.extensions.field : null;
    if (field) {
      const key = fieldKey(field, argument);
      report.fields[key] ??= error.message;
    } else {
      report.general.push(error.message);
    }
  }
  return report;
}

/** The report for whatever a request threw or returned as its error. */
export function errorReport(error: unknown, argument = "input"): ErrorReport {
  if (!error) return { fields: {}, general: [], code: null };
  if (error instanceof ApiError) return reportErrors(error.errors, argument);
  const combined = error as Partial<CombinedError>;
  if (combined.graphQLErrors?.length) {
    return reportErrors(
      combined.graphQLErrors.map((e) => ({
        message: e.message,
        extensions: e.extensions as ErrorLike["extensions"],
      })),
      argument,
    );
  }
  if (combined.networkError) {
    return {
      fields: {},
      general: ["Cannot reach the dts server. Check your connection; retrying helps."],
      code: "network_error",
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { fields: {}, general: [message], code: null };
}

/**
 * Move the field errors the page does not show into `general`, so that no message is lost.
 * `shown` says whether a key has a place on the page.
 */
export function unplacedErrors(report: ErrorReport, shown: (key: string) => boolean): string[] {
  const extra = Object.entries(report.fields)
    .filter(([key]) => !shown(key))
    .map(([key, message]) => `${key}: ${message}`);
  return [...report.general, ...extra];
}

/** One line for a whole error (for toasts and page-level banners). */
export function errorText(error: unknown): string {
  const report = errorReport(error);
  const first = Object.entries(report.fields)[0];
  return report.general[0] ?? (first ? first[1] : "Something went wrong.");
}
