// Read-aloud (音声読み上げ) with the Web Speech API: sentence by sentence from the current page,
// a Japanese voice, adjustable speed, the sentence being read highlighted. Ruby readings (<rt>, <rp>)
// are left out of what is spoken, so "山路（やまみち）" is read once, as written.

const SKIP = 'rt, rp, script, style, noscript'
// A sentence ends at 。！？!? (and any closing brackets after it) or at a block boundary.
const SENTENCE = /[^。．！？!?\n]+(?:[。．！？!?]+[」』）)】〕"”]*|$)/gu

/** Sentences of ``doc`` from ``start`` (a Range or null) on, each with a Range in the document. */
export const sentencesOf = (doc, start = null) => {
    const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT, {
        acceptNode: node => node.parentElement?.closest(SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
    })
    const blocks = []  // runs of text nodes inside one block element
    let current = null
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (start && start.comparePoint(node, node.length) < 0) continue
        const block = node.parentElement.closest('p, div, li, h1, h2, h3, h4, h5, h6, td, th, dd, dt, blockquote, section, body')
        if (!current || current.block !== block) {
            current = { block, nodes: [], text: '' }
            blocks.push(current)
        }
        const offset = start && node === start.startContainer ? start.startOffset : 0
        current.nodes.push({ node, from: current.text.length, offset })
        current.text += node.data.slice(offset)
    }
    const sentences = []
    for (const { nodes, text } of blocks) {
        for (const match of text.matchAll(SENTENCE)) {
            const spoken = match[0].replace(/\s+/g, ' ').trim()
            if (!spoken) continue
            const range = doc.createRange()
            const at = index => {
                const entry = nodes.findLast(n => n.from <= index) ?? nodes[0]
                return [entry.node, Math.min(entry.node.length, entry.offset + index - entry.from)]
            }
            range.setStart(...at(match.index))
            range.setEnd(...at(match.index + match[0].length))
            sentences.push({ text: spoken, range })
        }
    }
    return sentences
}

const isJapanese = voice => /^ja(-|_|$)/i.test(voice.lang)

export const japaneseVoice = () => {
    const voices = window.speechSynthesis?.getVoices() ?? []
    return voices.find(v => isJapanese(v) && v.localService) ?? voices.find(isJapanese) ?? null
}

/** The device's voices, Japanese ones first (on-device before online), for the 「声」 choice. */
export const voiceChoices = () => {
    const voices = [...(window.speechSynthesis?.getVoices() ?? [])]
    const rank = v => (isJapanese(v) ? 0 : 2) + (v.localService ? 0 : 1)
    return voices.sort((a, b) => rank(a) - rank(b))
}

export class ReadAloud {
    /** ``source`` gives the current page: ``{doc, range, index}``; ``nextSection()`` moves on. */
    constructor({ current, reveal, nextSection, onState }) {
        this.current = current
        this.reveal = reveal
        this.nextSection = nextSection
        this.onState = onState
        this.rate = 1
        this.voiceURI = ''   // the patron's choice of voice; '' means the best Japanese one
        this.playing = false
        this.queue = []
        this.position = 0
        this.highlightDoc = null
    }

    get available() {
        return 'speechSynthesis' in window && typeof SpeechSynthesisUtterance === 'function'
    }

    async start() {
        if (!this.available) return this.onState('unavailable')
        this.stop(false)
        const { doc, range } = this.current()
        if (!doc) return
        this.queue = sentencesOf(doc, range)
        this.position = 0
        this.playing = true
        this.onState('playing', isJapanese(this.voice ?? { lang: '' }) ? '' : 'no-voice')
        this.#speakNext()
    }

    /** Stop; ``state`` is what the patron is told: 'stopped', 'finished' or 'failed' (or nothing). */
    stop(report = true, state = 'stopped') {
        const wasPlaying = this.playing
        this.playing = false
        this.queue = []
        if (this.available) window.speechSynthesis.cancel()
        this.#highlight(null)
        if (report && wasPlaying) this.onState(state)
    }

    /** The voice to speak with: the one chosen, else the best Japanese one, else the browser's default. */
    get voice() {
        const voices = window.speechSynthesis?.getVoices() ?? []
        return voices.find(v => v.voiceURI === this.voiceURI) ?? japaneseVoice()
    }

    setRate(rate) {
        this.rate = Number(rate) || 1
        if (this.playing) {  // restart the current sentence at the new speed
            this.position = Math.max(0, this.position - 1)
            window.speechSynthesis.cancel()
        }
    }

    async #speakNext() {
        if (!this.playing) return
        if (this.position >= this.queue.length) {
            if (!(await this.nextSection())) return this.stop(true, 'finished')
            const { doc } = this.current()
            this.queue = sentencesOf(doc)
            this.position = 0
            if (!this.queue.length) return this.stop(true, 'finished')
        }
        const sentence = this.queue[this.position++]
        const utterance = new SpeechSynthesisUtterance(sentence.text)
        const voice = this.voice
        utterance.lang = voice && !isJapanese(voice) ? voice.lang : 'ja-JP'
        if (voice) utterance.voice = voice
        utterance.rate = this.rate
        const token = {}
        this.token = token
        utterance.onend = () => { if (this.token === token) this.#speakNext() }
        utterance.onerror = event => {
            if (this.token !== token) return
            if (event.error === 'interrupted' || event.error === 'canceled') {
                if (this.playing) this.#speakNext()  // a speed change restarts the sentence
            } else this.stop(true, 'failed')  // e.g. no voice for the language: say so, not "stopped"
        }
        this.#highlight(sentence.range)
        await this.reveal(sentence.range)
        window.speechSynthesis.speak(utterance)
    }

    #highlight(range) {
        const doc = range?.startContainer.ownerDocument ?? this.highlightDoc
        if (!doc) return
        const win = doc.defaultView
        if (!win?.CSS?.highlights) return
        if (!doc.getElementById('elibrary-tts-style')) {
            const style = doc.createElement('style')
            style.id = 'elibrary-tts-style'
            style.textContent = '::highlight(elibrary-tts) { background-color: #ffe066; color: #000; }'
            doc.head?.append(style)
        }
        if (range) {
            win.CSS.highlights.set('elibrary-tts', new win.Highlight(range))
            this.highlightDoc = doc
        } else win.CSS.highlights.delete('elibrary-tts')
    }
}
