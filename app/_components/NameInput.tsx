"use client";
import { useEffect, useRef, useState } from "react";

/**
 * A name typed in place (a chat's title, a folder's name): focused and selected at once; Enter or
 * leaving the field saves a non-blank name, Esc (or a blank one) cancels. It answers once.
 */
export function NameInput({
  initial,
  label,
  maxLength,
  placeholder,
  onSave,
  onCancel,
}: {
  initial: string;
  label: string;
  maxLength?: number;
  placeholder?: string;
  onSave: (name: string) => void;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(initial);
  const done = useRef(false);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    ref.current?.focus();
    ref.current?.select();
  }, []);
  const finish = (save: boolean) => {
    if (done.current) return;
    done.current = true;
    const name = value.trim().slice(0, maxLength);
    if (save && name) onSave(name);
    else onCancel();
  };
  return (
    <input
      ref={ref}
      className="rename-input"
      aria-label={label}
      placeholder={placeholder}
      maxLength={maxLength}
      value={value}
      onChange={(e) => setValue(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          finish(true);
        } else if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          finish(false);
        }
      }}
      onBlur={() => finish(true)}
    />
  );
}
