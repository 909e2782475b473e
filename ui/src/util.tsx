/** Small shared pieces: formatting, status badges, the confirm dialog, error notes, data loading. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { explain } from './api.ts';

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function between(start: string | null, end: string | null): number | null {
  if (!start) return null;
  return (end ? Date.parse(end) : Date.now()) - Date.parse(start);
}

export function formatUsd(usd: number): string {
  if (usd === 0 || usd >= 1) return `$${usd.toFixed(2)}`;
  // Small amounts (a mock or a cheap model): four significant digits, not $0.00.
  return `$${Number(usd.toPrecision(4))}`;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function ErrorNote({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  return (
    <p role="alert" className="error">
      {explain(error)}
    </p>
  );
}

/** Loads with `load` now and whenever `deps` change (and every `pollMs` when given). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], pollMs?: number): { value: T | undefined; error: unknown; reload: () => void } {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<unknown>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = useCallback(() => {
    loadRef.current().then(
      (v) => {
        setValue(v);
        setError(null);
      },
      (e: unknown) => setError(e),
    );
  }, []);
  useEffect(() => {
    run();
    if (pollMs === undefined) return;
    const timer = setInterval(run, pollMs);
    return () => clearInterval(timer);
  }, deps);
  return { value, error, reload: run };
}

/**
 * A button that asks first (a modal dialog), then runs `action`; a refusal is shown under it.
 * `children` of the dialog: fields the action needs (a step to re-run from, a signal's payload).
 */
export function ConfirmButton(props: {
  label: string;
  question: string;
  confirmLabel?: string;
  action: () => Promise<void>;
  danger?: boolean;
  children?: ReactNode;
  disabled?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await props.action();
      setError(null);
      dialog.current?.close();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className={props.danger ? 'danger' : ''} disabled={props.disabled} onClick={() => dialog.current?.showModal()}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-label={props.label} onClose={() => setError(null)}>
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            void confirm();
          }}
        >
          <p>{props.question}</p>
          {props.children}
          <ErrorNote error={error} />
          <div className="actions">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" className={props.danger ? 'danger' : 'primary'} disabled={busy}>
              {props.confirmLabel ?? 'Confirm'}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
