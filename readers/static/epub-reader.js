// The EPUB reader on foliate-js: resources are fetched one at a time from the content routes (which check
// the loan on every request and map legacy -epub-* CSS); the book never reaches the browser whole.
import { data, texts, ReaderUI, setStatus, announce, contentFetch } from './reader-ui.js'
import { ReadAloud, japaneseVoice, voiceChoices } from './read-aloud.js'
import { Gestures, frameToPage, turnForSwipe } from './touch.js'

const encodePath = name => name.split('/').map(encodeURIComponent).join('/')

const fetchEntry = async name => {
    const response = await contentFetch(data.base + encodePath(name))
    if (response.status === 404) return null
    if (!response.ok) throw new Error(`${response.status} ${name}`)
    return response
}

// Entries known to be absent are answered without a request (foliate probes for optional files), and the
// images, audio and styles a content document refers to are fetched in parallel as soon as it arrives,
// instead of one after another as the engine asks for them.
const exists = name => !data.sizes || Object.hasOwn(data.sizes, name)
const prefetched = new Map()
const REFERENCE = /\s(?:src|href|xlink:href|poster)\s*=\s*["']([^"'#]+)/gi

const prefetchReferences = (name, text) => {
    for (const [, reference] of text.matchAll(REFERENCE)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(reference)) continue
        let target
        try {
            target = decodeURI(new URL(reference, 'https://book.invalid/' + name).pathname.slice(1))
        } catch { continue }
        if (!exists(target) || prefetched.has(target) || /\.x?html?$/i.test(target)) continue
        prefetched.set(target, fetchEntry(target).then(r => r?.blob() ?? null))
    }
}

const loader = {
    loadText: async name => {
        if (!exists(name)) return null
        const text = (await fetchEntry(name))?.text() ?? null
        const value = await text
        if (value && /\.x?html?$/i.test(name)) prefetchReferences(name, value)
        return value
    },
    loadBlob: async name => {
        if (!exists(name)) return null
        const early = prefetched.get(name)
        if (early) {
            prefetched.delete(name)
            return early
        }
        return (await fetchEntry(name))?.blob() ?? null
    },
    getSize: name => data.sizes?.[name] ?? 0,
}

const FONTS = {
    mincho: '"Noto Serif CJK JP", "Noto Serif JP", "Hiragino Mincho ProN", "Yu Mincho", "YuMincho", serif',
    gothic: '"Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", "YuGothic", "Meiryo", sans-serif',
}
const THEMES = {
    white: { fg: '#1a1a1a', bg: '#ffffff', link: '#0b57d0' },
    sepia: { fg: '#3b2f1e', bg: '#f4ecd8', link: '#7a3e00' },
    dark: { fg: '#e8e6e3', bg: '#121212', link: '#8ab4f8' },
    contrast: { fg: '#ffffff', bg: '#000000', link: '#ffff00' },
}

/** The CSS given to every book document for the patron's settings. */
export const bookCSS = settings => {
    const theme = THEMES[settings.theme] ?? THEMES.white
    const lines = [
        '@namespace epub "http://www.idpf.org/2007/ops";',
        `html { color-scheme: ${settings.theme === 'dark' || settings.theme === 'contrast' ? 'dark' : 'light'}; }`,
        `html, body { color: ${theme.fg} !important; background: ${theme.bg} !important; }`,
        `a:any-link { color: ${theme.link} !important; }`,
        `html { font-size: ${Number(settings.fontSize) || 100}% !important; }`,
        'rt { font-size: 50%; }',
    ]
    if (settings.theme !== 'white')
        lines.push('body *:not(img):not(svg):not(image) { color: inherit !important; background-color: transparent !important; }')
    if (settings.lineHeight)
        lines.push(`body, p, li, blockquote, dd, div { line-height: ${settings.lineHeight} !important; }`)
    if (settings.fontFamily && FONTS[settings.fontFamily])
        lines.push(`body, body *:not(code):not(pre):not(kbd) { font-family: ${FONTS[settings.fontFamily]} !important; }`)
    if (!settings.ruby) lines.push('rt, rp { display: none !important; }')
    return lines.join('\n')
}

/** The scale the fixed-layout renderer shows its pages at now (their box over their own width). */
const shownScale = view => {
    for (const { doc } of view.renderer.getContents?.() ?? []) {
        const frame = doc?.defaultView?.frameElement
        if (frame?.offsetWidth && frame.getBoundingClientRect().width) return frame.getBoundingClientRect().width / frame.offsetWidth
    }
    return 1
}

/** Swipes turn a fixed-layout book's pages; a pinch zooms between "whole page" and 4× that. */
const fixedLayoutGestures = (view, engine, ui) => new Gestures({
    scroller: () => view.renderer,
    onSwipe: direction => turnForSwipe(engine, direction),
    onPinch: ratio => {
        const now = shownScale(view)
        if (ui.setting('fxlZoom') === 'fit-page') engine.fitScale = now
        const fit = engine.fitScale ?? Math.min(now, 1)
        const scale = now * ratio
        ui.setSetting('fxlZoom', scale <= fit * 1.05 ? 'fit-page' : String(Math.min(fit * 4, scale).toFixed(3)))
    },
})

/**
 * Swipes in a paginated reflowable book, taken before foliate's own handling (which follows the finger
 * only along the scroll axis, so a sideways swipe in a vertical Japanese book did nothing): a swipe turns
 * one page the way the finger moved, in either writing mode. Long-press selections are left alone.
 */
const reflowableGestures = (view, engine) => new Gestures({
    exclusive: true,
    ignore: () => view.renderer.scrolled
        || (view.renderer.getContents?.() ?? []).some(({ doc }) => doc?.getSelection()?.toString()),
    onSwipe: direction => turnForSwipe(engine, direction),
})

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

class EpubEngine {
    constructor(view) {
        this.view = view
        this.arrowsDownAreNext = false
        this.settings = null
    }
    goLeft() { return this.view.goLeft() }
    goRight() { return this.view.goRight() }
    next() { return this.view.next() }
    prev() { return this.view.prev() }
    goToFraction(f) { return this.view.goToFraction(f) }
    goTo(location) { return this.view.goTo(location) }
    applySettings(settings) {
        this.settings = settings
        this.view.renderer?.setStyles?.(bookCSS(settings))
        if (!this.view.isFixedLayout) return
        globalThis.elibrarySinglePage = settings.fxlSpread === 'single'  // read by the patched fixed-layout.js
        this.view.renderer.setAttribute('zoom', settings.fxlZoom || 'fit-page')  // (re-renders the spread)
    }
    async search(query, onResult) {
        this.view.clearSearch()
        for await (const result of this.view.search({ query })) {
            if (result === 'done') break
            if (!result.subitems) continue
            for (const item of result.subitems)
                onResult({ location: item.cfi, excerpt: item.excerpt, label: result.label })
        }
    }
}

const start = async () => {
    setStatus(texts.loading)
    await import(data.engine + 'foliate-js/view.js')
    const { EPUB } = await import(data.engine + 'foliate-js/epub.js')
    const book = await new EPUB(loader).init()
    const view = document.createElement('foliate-view')
    view.setAttribute('aria-label', book.metadata?.title?.ja ?? data.title)
    const main = document.getElementById('book')
    const engine = new EpubEngine(view)
    const ui = new ReaderUI(engine)
    main.append(view)
    await view.open(book)
    document.body.dataset.layout = view.isFixedLayout ? 'pre-paginated' : 'reflowable'
    document.body.dataset.dir = book.dir === 'rtl' ? 'rtl' : 'ltr'
    if (!view.isFixedLayout) {
        view.renderer.setAttribute('flow', book.rendition?.flow === 'scrolled-doc' ? 'scrolled' : 'paginated')
        view.renderer.setAttribute('gap', '6%')
        view.renderer.setAttribute('margin', '40px')
        view.renderer.setAttribute('max-inline-size', '760px')
        view.renderer.setAttribute('max-column-count', '2')
    }
    ui.init()

    const gestures = (view.isFixedLayout ? fixedLayoutGestures(view, engine, ui) : reflowableGestures(view, engine)).watch(view)
    view.addEventListener('load', ({ detail: { doc } }) => {
        doc.addEventListener('keydown', e => ui.handleKey(e))
        doc.documentElement.style.overscrollBehavior = 'none'
        if (view.isFixedLayout) {
            // No touch handling in foliate's fixed layout: swipes and pinches are ours, the browser's never.
            doc.documentElement.style.touchAction = 'pan-x pan-y'
        }
        gestures.watch(doc, frameToPage(doc))
        doc.addEventListener('click', e => {
            if (e.target.closest?.('a[href], button, input, select, textarea, audio, video')) return
            if (doc.getSelection()?.toString()) return
            const frame = doc.defaultView.frameElement
            const x = (frame?.getBoundingClientRect().left ?? 0) + e.clientX
            const third = window.innerWidth / 3
            if (x < third) engine.goLeft()
            else if (x > 2 * third) engine.goRight()
        })
        document.body.dataset.loadedSection = String(view.renderer.getContents?.()[0]?.index ?? '')
    })
    // A book's outside links open in a new tab with no handle on this page; other schemes (javascript:,
    // data:, file:) never open at all.
    view.addEventListener('external-link', e => {
        e.preventDefault()
        const { href } = e.detail
        if (/^(https?|mailto):/i.test(href)) window.open(href, '_blank', 'noopener,noreferrer')
    })
    view.addEventListener('relocate', ({ detail }) => {
        ui.relocated(detail.cfi, detail.fraction, detail.tocItem?.label?.trim() ?? '')
        document.body.dataset.fraction = String(detail.fraction ?? 0)
    })

    ui.renderTOC(book.toc, item => view.goTo(item.href))
    const restored = ui.startLocation()
    await view.init({ lastLocation: restored, showTextStart: false })
    if (restored && data.position?.location) announce(texts.restored)
    document.getElementById('book-status')?.remove()
    if (!document.body.dataset.ready) document.body.dataset.readyAt = String(Math.round(performance.now()))
    document.body.dataset.ready = 'true'

    setUpReadAloud(view, engine)
    setUpMediaOverlay(view)
    window.elibraryReader = { view, ui, engine, book }
}

const setUpReadAloud = (view, engine) => {
    const toggle = document.getElementById('tts-toggle')
    const bar = document.getElementById('tts-bar')
    const status = document.getElementById('tts-status')
    if (!toggle) return
    const current = () => {
        const contents = view.renderer.getContents?.() ?? []
        const index = view.lastLocation?.index ?? contents[0]?.index
        const entry = contents.find(c => c.index === index) ?? contents[0]
        return { doc: entry?.doc, index: entry?.index, range: view.lastLocation?.range ?? null }
    }
    const reader = new ReadAloud({
        current,
        reveal: async range => {
            const { index } = current()
            await view.renderer.goTo?.({ index, anchor: () => range })
        },
        nextSection: async () => {
            const { index } = current()
            if (index == null || index + 1 >= view.book.sections.length) return false
            await view.renderer.goTo({ index: index + 1 })
            await sleep(50)
            return true
        },
        onState: state => {
            document.body.dataset.tts = state
            document.getElementById('tts-play').disabled = state === 'playing'
            status.textContent = { unavailable: texts.noSpeech, playing: texts.reading, failed: texts.speechFailed,
                finished: texts.finished }[state] ?? texts.stopped
        },
    })
    const rate = document.getElementById('tts-rate')
    const voiceField = document.getElementById('tts-voice-field')
    const voiceSelect = document.getElementById('tts-voice')
    const note = document.getElementById('tts-note')
    let chosenRate = false
    // What the device can do, said once and kept (not replaced by 「停止しました」): no Japanese voice, or none.
    const describeVoices = () => {
        const voices = voiceChoices()
        const hasJapanese = Boolean(japaneseVoice())
        voiceSelect.replaceChildren(...voices.map(voice => {
            const option = document.createElement('option')
            option.value = voice.voiceURI
            option.textContent = `${voice.name} (${voice.lang})`
            option.selected = voice.voiceURI === reader.voice?.voiceURI
            return option
        }))
        voiceField.hidden = voices.length < 2 && hasJapanese
        const message = !reader.available ? texts.noSpeech : !voices.length ? texts.noVoices
            : hasJapanese ? '' : `${texts.noVoice}${texts.otherVoice}`
        note.hidden = !message
        if (note.textContent !== message) note.textContent = message
        if (voices.length && !hasJapanese && !chosenRate && reader.rate === 1) {
            rate.value = '0.75'  // another language's voice reads Japanese more clearly slowly
            reader.setRate(rate.value)
        }
        document.body.dataset.ttsVoices = hasJapanese ? 'japanese' : voices.length ? 'other' : 'none'
    }
    window.speechSynthesis?.addEventListener?.('voiceschanged', () => { if (!bar.hidden) describeVoices() })
    toggle.addEventListener('click', () => {
        const open = bar.hidden
        bar.hidden = !open
        toggle.setAttribute('aria-pressed', String(open))
        if (open) {
            describeVoices()
            document.getElementById('tts-play').focus()
        } else reader.stop()
    })
    voiceSelect.addEventListener('change', () => { reader.voiceURI = voiceSelect.value })
    document.getElementById('tts-play').addEventListener('click', () => reader.start())
    document.getElementById('tts-stop').addEventListener('click', () => reader.stop())
    rate.addEventListener('change', e => {
        chosenRate = true
        reader.setRate(e.target.value)
    })
    window.elibraryReadAloud = reader
}

const setUpMediaOverlay = view => {
    const button = document.getElementById('overlay-play')
    if (!button || !view.mediaOverlay) return
    let playing = false
    button.addEventListener('click', () => {
        if (!playing) view.startMediaOverlay()
        else view.mediaOverlay.pause()
        playing = !playing
        button.setAttribute('aria-pressed', String(playing))
    })
}

start().catch(error => {
    console.error(error)
    setStatus(texts.loadFailed)
    document.body.dataset.ready = 'error'
})
