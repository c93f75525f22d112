"use client";
import { useTranslations } from "next-intl";
import { useSignOut, useSignedInUser } from "./account";
import { useCallback, useEffect, useRef, useState } from "react";
import { Conversation } from "./Conversation";
import { CloseIcon } from "./icons";
import { ALL_CHATS, folderOf, type ListView } from "./listView";
import type { PublicMe } from "./serverAuth";
import { SettingsPanel } from "./SettingsPanel";
import { Sidebar } from "./Sidebar";
import type { Session } from "./trpc";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function urlFor(sessionId: string | null) {
  return sessionId ? `/?c=${sessionId}` : "/";
}

export function ChatApp({ me, initialSessionId }: { me: PublicMe; initialSessionId: string | null }) {
  const [sessionId, setSessionId] = useState<string | null>(initialSessionId && UUID.test(initialSessionId) ? initialSessionId : null);
  /** Changes only when the user opens another chat, so a new chat becoming a session keeps its view. */
  const [viewKey, setViewKey] = useState(0);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [search, setSearch] = useState("");
  const [listView, setListView] = useState<ListView>(ALL_CHATS);
  const searchInput = useRef<HTMLInputElement>(null);
  const t = useTranslations();
  const [toast, setToast] = useState<string | null>(null);

  // Sent here from /admin without the role for it.
  useEffect(() => {
    const params = new URLSearchParams(window.location.search);
    if (params.get("denied") === "admin") {
      setToast(t("chat.adminDenied"));
      params.delete("denied");
      const rest = params.toString();
      window.history.replaceState(null, "", rest ? `/?${rest}` : "/");
      const timer = setTimeout(() => setToast(null), 6000);
      return () => clearTimeout(timer);
    }
  }, [t]);

  useSignedInUser();

  const open = useCallback((id: string | null, push = true) => {
    setSessionId(id);
    setViewKey((k) => k + 1);
    setDrawerOpen(false);
    setSettingsOpen(false);
    if (push) window.history.pushState(null, "", urlFor(id));
  }, []);

  useEffect(() => {
    const onPop = () => {
      const id = new URLSearchParams(window.location.search).get("c");
      open(id && UUID.test(id) ? id : null, false);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [open]);

  const newChat = useCallback(() => {
    open(null);
    requestAnimationFrame(() => document.querySelector<HTMLTextAreaElement>(".composer textarea")?.focus());
  }, [open]);

  // Keyboard: Ctrl/Cmd+K searches, Ctrl/Cmd+Shift+O starts a new chat, Esc closes the drawer.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.metaKey || e.ctrlKey;
      if (mod && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setDrawerOpen(true);
        requestAnimationFrame(() => {
          searchInput.current?.focus();
          searchInput.current?.select();
        });
      } else if (mod && e.shiftKey && !e.altKey && e.key.toLowerCase() === "o") {
        e.preventDefault();
        newChat();
      } else if (e.key === "Escape" && drawerOpen) {
        setDrawerOpen(false);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [newChat, drawerOpen]);

  const signOut = useSignOut();


  const onSessionCreated = useCallback((s: Session) => {
    setSessionId(s.id);
    window.history.replaceState(null, "", urlFor(s.id));
  }, []);

  const onDeleted = useCallback(
    (ids: string[]) => {
      if (sessionId && ids.includes(sessionId)) open(null);
    },
    [open, sessionId],
  );

  const closeSettings = useCallback(() => setSettingsOpen(false), []);

  return (
    <div className={`app-shell ${drawerOpen ? "drawer-open" : ""} ${settingsOpen ? "settings-open" : ""}`}>
      <Sidebar
        me={me}
        currentId={sessionId}
        view={listView}
        onViewChange={setListView}
        onSelect={(id) => open(id)}
        onNewChat={newChat}
        onClose={() => setDrawerOpen(false)}
        onSearchChange={setSearch}
        searchInputRef={searchInput}
        onSignOut={signOut}
        onDeleted={onDeleted}
      />
      <div className="drawer-backdrop" onClick={() => setDrawerOpen(false)} aria-hidden="true" />
      <Conversation
        key={viewKey}
        sessionId={sessionId}
        newChatFolderId={folderOf(listView)}
        onSessionCreated={onSessionCreated}
        highlight={search}
        onOpenSidebar={() => setDrawerOpen(true)}
        onOpenSettings={() => setSettingsOpen(true)}
        onNewChat={newChat}
      />
      {toast && (
        <div className="app-toast" role="alert">
          <span>{toast}</span>
          <button type="button" className="icon-btn" aria-label={t("common.dismiss")} onClick={() => setToast(null)}>
            <CloseIcon size={14} />
          </button>
        </div>
      )}
      {settingsOpen && sessionId && <SettingsPanel key={sessionId} sessionId={sessionId} onClose={closeSettings} />}
    </div>
  );
}
