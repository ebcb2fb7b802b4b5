// The PDF reader on pdf.js: the file is fetched by byte ranges (only the pages shown), with page
// thumbnails, zoom, text search and the same controls, keys and saved position as the EPUB reader.
import { data, texts, ReaderUI, settings, setStatus, contentFetch } from './reader-ui.js'
import { Gestures, turnForSwipe } from './touch.js'

const engineURL = path => data.engine + path

class PdfEngine {
    constructor(viewer, pdf, eventBus, linkService) {
        this.viewer = viewer
        this.pdf = pdf
        this.eventBus = eventBus
        this.linkService = linkService
        this.rtl = data.dir === 'rtl'
        this.arrowsDownAreNext = false
    }
    next() { this.viewer.nextPage() }
    prev() { this.viewer.previousPage() }
    goLeft() { return this.rtl ? this.next() : this.prev() }
    goRight() { return this.rtl ? this.prev() : this.next() }
    goToFraction(f) {
        this.viewer.currentPageNumber = Math.min(this.pdf.numPages, Math.max(1, Math.round(f * (this.pdf.numPages - 1)) + 1))
    }
    goTo(location) {
        const page = Number(String(location).replace(/^page:/, ''))
        if (page >= 1 && page <= this.pdf.numPages) this.viewer.currentPageNumber = page
    }
    applySettings(settings) {
        if (this.viewer.pagesCount) this.viewer.currentScaleValue = scaleValue(settings.zoom)
    }
    zoom(factor) {
        this.viewer.currentScale = Math.min(5, Math.max(0.25, this.viewer.currentScale * factor))
        settings.zoom = String(this.viewer.currentScale)
    }
    async search(query, onResult) {
        const needle = query.toLowerCase()
        for (let number = 1; number <= this.pdf.numPages; number++) {
            const page = await this.pdf.getPage(number)
            const text = (await page.getTextContent()).items.map(item => item.str).join('')
            const lower = text.toLowerCase()
            for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + needle.length)) {
                onResult({
                    location: `page:${number}`, label: `${number} ${texts.page}`,
                    excerpt: { pre: text.slice(Math.max(0, at - 20), at), match: text.slice(at, at + query.length),
                        post: text.slice(at + query.length, at + query.length + 20) },
                })
            }
        }
        this.eventBus.dispatch('find', {
            source: this, type: '', query, caseSensitive: false, entireWord: false, phraseSearch: true,
            highlightAll: true, findPrevious: false, matchDiacritics: false,
        })
    }
}

/** The zoom "auto": the whole page on a landscape screen, the page's width on a portrait one. */
const scaleValue = zoom => !zoom || zoom === 'auto'
    ? (window.innerWidth > window.innerHeight ? 'page-fit' : 'page-width') : zoom

const renderThumbnails = (pdf, engine) => {
    const box = document.getElementById('thumbnails')
    const observer = new IntersectionObserver(entries => {
        for (const entry of entries) {
            if (!entry.isIntersecting) continue
            observer.unobserve(entry.target)
            const number = Number(entry.target.dataset.page)
            pdf.getPage(number).then(page => {
                const viewport = page.getViewport({ scale: 1 })
                const scale = 96 / viewport.width
                const canvas = entry.target.querySelector('canvas')
                const scaled = page.getViewport({ scale })
                canvas.width = Math.floor(scaled.width)
                canvas.height = Math.floor(scaled.height)
                return page.render({ canvas, viewport: scaled }).promise
            }).catch(() => {})
        }
    }, { root: box.closest('dialog') })
    for (let number = 1; number <= pdf.numPages; number++) {
        const button = document.createElement('button')
        button.type = 'button'
        button.dataset.page = String(number)
        button.setAttribute('aria-label', `${number} ${texts.page}`)
        const canvas = document.createElement('canvas')
        canvas.width = 96
        canvas.height = 128
        canvas.setAttribute('aria-hidden', 'true')
        const label = document.createElement('span')
        label.textContent = String(number)
        button.append(canvas, label)
        button.addEventListener('click', () => {
            box.closest('dialog').close()
            engine.goTo(`page:${number}`)
        })
        box.append(button)
        observer.observe(button)
    }
}

const CHUNK = 128 * 1024

/** pdf.js reads the PDF through us, by byte ranges, so each request carries a current content token. */
const openRange = async pdfjsLib => {
    const first = await contentFetch(data.pdf, { headers: { Range: `bytes=0-${CHUNK - 1}` } })
    if (!first.ok) throw new Error(`${first.status} pdf`)
    const length = Number((first.headers.get('Content-Range') ?? '').split('/')[1]) || Number(first.headers.get('Content-Length'))
    const transport = new pdfjsLib.PDFDataRangeTransport(length, new Uint8Array(await first.arrayBuffer()))
    transport.requestDataRange = (begin, end) => {
        contentFetch(data.pdf, { headers: { Range: `bytes=${begin}-${end - 1}` } })
            .then(async response => {
                if (!response.ok) throw new Error(`${response.status} pdf range`)
                transport.onDataRange(begin, new Uint8Array(await response.arrayBuffer()))
            })
            .catch(error => {
                console.error(error)
                setStatus(texts.loadFailed)
            })
    }
    return transport
}

const start = async () => {
    setStatus(texts.loading)
    // Start the worker (the largest file) at once, and ask for the document before the viewer code loads.
    const worker = new Worker(engineURL('pdfjs-dist/build/pdf.worker.min.mjs'), { type: 'module' })
    const pdfjsLib = await import(engineURL('pdfjs-dist/build/pdf.min.mjs'))
    globalThis.pdfjsLib = pdfjsLib
    pdfjsLib.GlobalWorkerOptions.workerPort = worker
    // A PDF's own JavaScript never runs: no eval, no XFA, and the viewer gets no scripting manager.
    const loading = openRange(pdfjsLib).then(range => pdfjsLib.getDocument({
        range, rangeChunkSize: CHUNK, disableAutoFetch: true, disableStream: true,
        cMapUrl: engineURL('pdfjs-dist/cmaps/'), cMapPacked: true,
        standardFontDataUrl: engineURL('pdfjs-dist/standard_fonts/'), wasmUrl: engineURL('pdfjs-dist/wasm/'),
        isEvalSupported: false, enableXfa: false,
    }).promise)
    const viewerLib = await import(engineURL('pdfjs-dist/web/pdf_viewer.mjs'))

    const main = document.getElementById('book')
    const container = document.createElement('div')
    container.id = 'viewerContainer'
    container.tabIndex = 0
    container.setAttribute('aria-label', data.title)
    const viewerElement = document.createElement('div')
    viewerElement.id = 'viewer'
    viewerElement.className = 'pdfViewer'
    container.append(viewerElement)
    main.append(container)

    const eventBus = new viewerLib.EventBus()
    // A PDF's web links open in a new tab without access to this page (rel noopener noreferrer).
    const linkService = new viewerLib.PDFLinkService({
        eventBus, externalLinkTarget: viewerLib.LinkTarget.BLANK, externalLinkRel: 'noopener noreferrer nofollow',
    })
    const findController = new viewerLib.PDFFindController({ eventBus, linkService })
    const viewer = new viewerLib.PDFViewer({
        container, viewer: viewerElement, eventBus, linkService, findController, scriptingManager: null,
    })
    linkService.setViewer(viewer)
    // One page at a time: a turn always lands on a page boundary, never half-way down the next page.
    viewer.scrollMode = viewerLib.ScrollMode.PAGE

    const pdf = await loading
    const engine = new PdfEngine(viewer, pdf, eventBus, linkService)
    const ui = new ReaderUI(engine)

    eventBus.on('pagesinit', () => {
        viewer.currentScaleValue = scaleValue(settings.zoom)
        const restored = ui.startLocation()
        if (restored) engine.goTo(restored)
    })
    eventBus.on('pagechanging', ({ pageNumber }) => {
        const total = pdf.numPages
        ui.relocated(`page:${pageNumber}`, total > 1 ? (pageNumber - 1) / (total - 1) : 1, `${pageNumber} / ${total}`)
        for (const thumb of document.querySelectorAll('#thumbnails button'))
            thumb.toggleAttribute('aria-current', Number(thumb.dataset.page) === pageNumber)
        document.body.dataset.page = String(pageNumber)
    })
    eventBus.on('pagerendered', ({ pageNumber }) => {
        document.body.dataset.rendered = String(pageNumber)
        document.getElementById('book-status')?.remove()
        if (!document.body.dataset.ready) document.body.dataset.readyAt = String(Math.round(performance.now()))
        document.body.dataset.ready = 'true'
    })

    viewer.setDocument(pdf)
    linkService.setDocument(pdf, null)
    ui.init()
    ui.relocated('page:1', 0, `1 / ${pdf.numPages}`)

    const outline = await pdf.getOutline().catch(() => null)
    const toItems = entries => (entries ?? []).map(entry => ({ label: entry.title, dest: entry.dest, subitems: toItems(entry.items) }))
    ui.renderTOC(toItems(outline), item => item.dest && linkService.goToDestination(item.dest))
    renderThumbnails(pdf, engine)

    document.getElementById('zoom')?.addEventListener('change', e => {
        settings.zoom = e.target.value
        ui.applySettings()
    })
    document.getElementById('zoom-in')?.addEventListener('click', () => engine.zoom(1.25))
    document.getElementById('zoom-out')?.addEventListener('click', () => engine.zoom(0.8))
    // Swipes turn pages (panning first when zoomed in); a pinch zooms. The browser never takes the gesture.
    new Gestures({
        scroller: () => container,
        onSwipe: direction => turnForSwipe(engine, direction),
        onPinch: ratio => {
            engine.zoom(ratio)
            ui.setSetting('zoom', settings.zoom)
        },
    }).watch(container)
    window.addEventListener('resize', () => { if (!settings.zoom || settings.zoom === 'auto') ui.applySettings() })
    window.elibraryReader = { viewer, pdf, ui, engine }
}

start().catch(error => {
    console.error(error)
    setStatus(texts.loadFailed)
    document.body.dataset.ready = 'error'
})
