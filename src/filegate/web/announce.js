// Status changes read out by screen readers: one polite live region, updates grouped so
// twenty files turning READY make one sentence, not twenty.

import { problem, rejection } from "./words.js";

const GROUP_MS = 800;

/** Announces files that reach a state a person waits for. */
export class Announcer {
  constructor(model, region, { grant }) {
    this.region = region;
    this.pending = [];
    this.timer = null;
    this.newcomers = false;
    model.listen((kind, item, before) => {
      if (kind === "changed" && before !== item.state) this.note(item, grant);
      // Files listed by the server, not picked here: sent from another device.
      if (kind === "added" && item.id && this.newcomers) this.say(`${item.name} arrived.`);
    });
  }

  /** From now on, announce files that appear in the list (after the first listing). */
  announceNewcomers() {
    this.newcomers = true;
  }

  note(item, grant) {
    const sentence = {
      ready: `${item.name} is ready.`,
      rejected: `${item.name} was rejected: ${rejection(item.reason)}`,
      failed: `${item.name} failed: ${problem(item.error)}`,
      uploaded: grant ? `${item.name} was sent.` : null,
    }[item.state];
    if (sentence) this.say(sentence, item.state);
  }

  /** Queue `sentence` (about a file now in `state`) for the next announcement. */
  say(sentence, state = "info") {
    this.pending.push({ sentence, state });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), GROUP_MS);
  }

  flush() {
    const pending = this.pending;
    this.pending = [];
    const aboutFiles = pending.filter((entry) => entry.state in SUMMARY_WORDS);
    const others = pending.filter((entry) => !(entry.state in SUMMARY_WORDS));
    const sentences = aboutFiles.length > 3 ? summary(aboutFiles) : aboutFiles.map(sentenceOf);
    this.region.textContent = [...sentences, ...others.map(sentenceOf)].join(" ");
  }
}

const SUMMARY_WORDS = { ready: "ready", rejected: "rejected", failed: "failed", uploaded: "sent" };

function sentenceOf(entry) {
  return entry.sentence;
}

/** "5 files ready. 1 file rejected." */
function summary(entries) {
  const counts = {};
  for (const { state } of entries) counts[state] = (counts[state] || 0) + 1;
  return Object.entries(counts).map(
    ([state, count]) => `${count} ${plural(count)} ${SUMMARY_WORDS[state]}.`,
  );
}

function plural(count) {
  return count === 1 ? "file" : "files";
}
