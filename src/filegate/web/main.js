// The page's entry point: who we are, then the drop zone, the list and the live states.

import { Announcer } from "./announce.js";
import { Api } from "./api.js";
import { forget, openGuestSession, resolveAuth } from "./auth.js";
import { Lightbox } from "./lightbox.js";
import { Media } from "./media.js";
import { Model } from "./model.js";
import { PhoneDialog } from "./phone.js";
import { Uploader } from "./uploader.js";
import { View } from "./view.js";
import { Watcher } from "./watcher.js";
import { moment, problem } from "./words.js";

const byId = (id) => document.getElementById(id);

/** `?polling=off`: only the event stream keeps states live (no long polls, no periodic
 * listing). Read before the address bar is cleaned of tokens. */
const POLLING = new URLSearchParams(location.search).get("polling") !== "off";

/** What to say when the server stops accepting this page's token. */
const ENDED = {
  guest: "Your session has ended. Reload the page to start a new one.",
  user: "The token this page was given is not accepted (it may have expired).",
  grant: "This link has expired or was withdrawn. Ask for a new one.",
};

function showFatal(message) {
  const banner = byId("fatal");
  banner.textContent = message;
  banner.hidden = false;
  byId("choose").disabled = true;
}

function describe(auth) {
  if (auth.mode === "grant") return "Sending with a link from another device";
  if (auth.mode === "user") return "Signed in with a token";
  return `Guest session · your files are kept until ${moment(auth.expiresAt)}`;
}

/** The drop zone and the picker both hand their files to `take`. */
function wireIntake(take) {
  const zone = byId("drop-zone");
  const picker = byId("picker");
  byId("choose").addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    const files = [...picker.files];
    picker.value = ""; // picking the same files again fires "change" again
    if (files.length) take(files);
  });
  // Dropped outside the zone, a file would replace the page: refuse it everywhere.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => event.preventDefault());
  }
  zone.addEventListener("dragenter", () => zone.classList.add("dragging"));
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    zone.classList.remove("dragging");
    const files = [...(event.dataTransfer?.files || [])];
    if (files.length) take(files);
  });
}

async function boot() {
  let auth;
  try {
    auth = await resolveAuth();
  } catch (error) {
    showFatal(`Could not start a session. ${problem(error)} Reload the page to try again.`);
    return;
  }
  let watcher = null;
  const api = new Api(auth.token, () => {
    watcher?.stop();
    forget();
    showFatal(ENDED[auth.mode]);
  });
  const grant = auth.mode === "grant";
  const model = new Model();
  const announcer = new Announcer(model, byId("status"), { grant });
  const uploader = new Uploader(api, model, { canRenew: !grant });
  const media = grant ? null : new Media(api, model);
  const lightbox = media && new Lightbox(media);
  const remove = async (item) => {
    if (item.id) {
      try {
        await api.deleteFile(item.id);
      } catch (error) {
        if (error.code !== "FILE_NOT_FOUND") {
          return announcer.say(`${item.name}: ${problem(error)}`);
        }
      }
    }
    model.remove(item);
    announcer.say(`${item.name} was deleted.`);
  };
  const download = async (item) => {
    try {
      await media.download(item);
    } catch (error) {
      announcer.say(`${item.name}: ${problem(error)}`);
    }
  };
  const cancel = async (item) => {
    await uploader.cancel(item);
    if (!model.items.has(item.key)) announcer.say(`${item.name} was cancelled.`);
  };
  const cancelAll = async () => {
    await uploader.cancelAll();
    announcer.say("Every unfinished upload was cancelled.");
  };
  const clearRejected = async () => {
    const rejected = [...model.items.values()].filter((item) => item.state === "rejected");
    // An owner deletes them on the server too, so they do not come back with the next list;
    // a grant may not delete what it sent: they leave this page only (the owner sees them).
    const forgetOne = grant ? (item) => model.remove(item) : remove;
    for (const item of rejected) await forgetOne(item);
    const files = rejected.length === 1 ? "file" : "files";
    announcer.say(`${rejected.length} rejected ${files} cleared.`);
  };
  const actions = {
    retry: (item) => uploader.retry(item),
    pause: (item) => uploader.pause(item),
    resume: (item) => uploader.resume(item),
    cancel,
    cancelAll,
    clearRejected,
    download,
    remove,
    show: (item, opener) => lightbox.show(item, opener),
  };
  const canPreview = (item) => Boolean(media?.hasPreview(item));
  new View(model, actions, { canRead: !grant, grant, canPreview });
  byId("identity").textContent = describe(auth);
  byId("grant-banner").hidden = !grant;
  if (grant) {
    byId("files-heading").textContent = "Sent from this device";
    // A grant may neither list nor follow the stream: it long-polls what it sent.
    watcher = new Watcher(api, model, { lists: false, stream: false, polling: POLLING });
    await watcher.start();
  }
  if (!grant) {
    watcher = new Watcher(api, model, { polling: POLLING });
    new PhoneDialog(api, watcher, byId("phone"), announcer);
    if (auth.recalled && auth.mode === "guest" && !(await stillValid(api))) {
      auth = await openGuestSession();
      api.token = auth.token;
      byId("identity").textContent = describe(auth);
    }
    await watcher.start();
    announcer.announceNewcomers();
  }
  wireIntake((files) => uploader.add(files));
  byId("choose").disabled = false;
}

/** Whether a kept guest token is still accepted (the server may have been reset). */
async function stillValid(api) {
  const probe = new Api(api.token);
  try {
    await probe.listFiles(1);
    return true;
  } catch (error) {
    return error.code !== "UNAUTHENTICATED";
  }
}

boot();
