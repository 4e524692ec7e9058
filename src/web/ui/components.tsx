import type { ComponentChildren, InputHTMLAttributes, SelectHTMLAttributes } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { formatTime, formatUtc } from "./format.js";

/** The page's h1; it takes focus when the page opens so screen readers announce the new page. */
export function PageHeading({ children, focus = true }: { children: ComponentChildren; focus?: boolean }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focus) ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

/** An error region: always in the page (so screen readers watch it), filled when there is a message. */
export function Alert({ message }: { message: string | null | undefined }) {
  return (
    <div role="alert" class={message ? "alert" : "alert empty"}>
      {message ?? ""}
    </div>
  );
}

/** A polite status region for changes that need no action (saved, copied, live updates). */
export function Status({ children, class: cls }: { children?: ComponentChildren; class?: string }) {
  return (
    <div role="status" class={cls ?? "status"}>
      {children}
    </div>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "value" | "onInput"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: string;
  inputRef?: { current: HTMLInputElement | null };
};

/** A labelled text input; the hint is read with the label. */
export function TextField({ label, value, onValue, hint, inputRef, ...rest }: InputProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        {...rest}
        id={id}
        ref={inputRef ?? null}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        {...(hint ? { "aria-describedby": hintId } : {})}
      />
      {hint && (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
    </div>
  );
}

type SelectProps = Omit<SelectHTMLAttributes<HTMLSelectElement>, "id" | "value" | "onChange"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  options: readonly (string | { value: string; label: string })[];
};

/** A labelled select. */
export function SelectField({ label, value, onValue, options, ...rest }: SelectProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select {...rest} id={id} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
        {options.map((o) => {
          const { value: v, label: text } = typeof o === "string" ? { value: o, label: o } : o;
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/** A labelled checkbox. */
export function CheckField({ label, checked, onChecked }: { label: string; checked: boolean; onChecked: (value: boolean) => void }) {
  const id = useId();
  return (
    <div class="field check">
      <input type="checkbox" id={id} checked={checked} onChange={(e) => onChecked(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
    </div>
  );
}

/** A table with a caption, in a scroll box that keyboard users can scroll too. */
export function Table({ caption, head, children, empty }: { caption: string; head: readonly string[]; children: ComponentChildren; empty?: string | false }) {
  const id = useId();
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus so keyboard users can scroll it
    // biome-ignore lint/a11y/useSemanticElements: the region role on the scroll box itself, which is not a section of the page
    <div class="table-wrap" tabIndex={0} role="region" aria-labelledby={id}>
      <table>
        <caption id={id}>{caption}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {children}
          {empty && (
            <tr>
              <td colSpan={head.length} class="empty-row">
                {empty}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A time element in the browser's zone, named, with the exact UTC time as machine value and on hover. */
export function Time({ iso, never = "" }: { iso: string | null | undefined; never?: string }) {
  if (!iso) return <>{never}</>;
  return (
    <time dateTime={iso} title={formatUtc(iso)}>
      {formatTime(iso)}
    </time>
  );
}

/** Copies `text` to the clipboard and says so in a status region. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState<string>("");
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("Copied to the clipboard.");
    } catch {
      setDone("Copying failed: select the text and copy it by hand.");
    }
  };
  return (
    <span class="copy">
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>
      <span role="status" class="copy-status">
        {done}
      </span>
    </span>
  );
}

interface Pending {
  text: string;
  resolve: (ok: boolean) => void;
}

/**
 * A modal confirmation (native <dialog>, so focus stays inside and Escape cancels). Returns the
 * function to ask and the element to render; the buttons are "Confirm" and "Cancel".
 */
export function useConfirm(): [(text: string) => Promise<boolean>, ComponentChildren] {
  const [pending, setPending] = useState<Pending | null>(null);
  const ask = (text: string): Promise<boolean> => new Promise((resolve) => setPending({ text, resolve }));
  const element = pending ? (
    <ConfirmDialog
      text={pending.text}
      onDone={(ok) => {
        setPending(null);
        pending.resolve(ok);
      }}
    />
  ) : null;
  return [ask, element];
}

function ConfirmDialog({ text, onDone }: { text: string; onDone: (ok: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return undefined;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    cancelRef.current?.focus();
    const onClose = (): void => {
      onDone(dialog.returnValue === "confirm");
      if (previous?.isConnected) previous.focus();
    };
    dialog.addEventListener("close", onClose);
    return () => dialog.removeEventListener("close", onClose);
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} class="confirm">
      <p id={titleId} class="confirm-text">
        {text}
      </p>
      <div class="actions">
        <button type="button" class="danger" onClick={() => ref.current?.close("confirm")}>
          Confirm
        </button>
        <button type="button" ref={cancelRef} onClick={() => ref.current?.close("cancel")}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** What members see on an admin page. */
export function AdminOnly({ title }: { title: string }) {
  return (
    <>
      <PageHeading>{title}</PageHeading>
      <p class="notice">Only account admins can see this page</p>
    </>
  );
}
