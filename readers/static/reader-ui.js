// The reader's controls, shared by the EPUB and PDF readers: panels, settings, progress, keys,
// bookmarks and the reading position saved to the server (per loan) or, signed out, to this device.
// An engine adapter supplies: goLeft, goRight, next, prev, goToFraction, goTo(location),
// search(query, onResult), clearSearch, applySettings(settings), label(location).

// The reader page is never framed (its policy says frame-ancestors 'none'). Framed, this module is being
// loaded by something else, e.g. a book document trying to use our code: refuse to do anything at all.
if (window.top !== window) throw new Error('elibrary reader: not run inside a frame')

// foliate-js's book frames get this sandbox (see ENGINE_PATCHES in readers/content_origin.py): no scripts,
// no forms, no navigation of this page. WebKit alone needs allow-scripts for events to reach the frame
// (WebKit bug 218086); there the page's policy (only our own script files) still keeps book scripts out.
globalThis.elibraryFrameSandbox = navigator.vendor === 'Apple Computer, Inc.'
    ? 'allow-same-origin allow-scripts' : 'allow-same-origin'

export const data = JSON.parse(document.getElementById('book-data').textContent)
export const texts = JSON.parse(document.getElementById('reader-texts').textContent)
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? ''
const $ = id => document.getElementById(id)

/** Tell the reader, once, that the loan ended while the book was open. */
export const showLoanEnded = () => {
    if (document.body.dataset.loanEnded) return
    const notice = document.createElement('p')
    notice.className = 'loan-ended'
    notice.setAttribute('role', 'alert')
    notice.textContent = texts.loanEnded
    document.querySelector('.reader-bar').after(notice)
    document.body.dataset.loanEnded = 'true'
}

// Book content is fetched with a short-lived content token in a header (never a cookie, never in the URL),
// renewed from the site a minute before it runs out, or at once when the content host refuses it.
const access = { token: data.contentToken, renewAt: Date.now() + (data.tokenTtl - 60) * 1000, renewing: null }

const renewToken = () => {
    access.renewing ??= fetch(data.tokenUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(async response => {
            if (response.status === 403 || response.status === 404) showLoanEnded()
            if (!response.ok) throw new Error(`${response.status} content token`)
            const { token, ttl } = await response.json()
            access.token = token
            access.renewAt = Date.now() + (ttl - 60) * 1000
        })
        .finally(() => { access.renewing = null })
    return access.renewing
}

/** ``fetch`` for book content: the loan's content token, no cookies; a 403 means the loan has ended. */
export const contentFetch = async (url, init = {}) => {
    if (Date.now() >= access.renewAt) await renewToken()
    const send = () => fetch(url, {
        ...init, credentials: 'omit', headers: { ...init.headers, [data.contentHeader]: access.token },
    })
    let response = await send()
    if (response.status === 401) {
        await renewToken()
        response = await send()
    }
    if (response.status === 403) showLoanEnded()
    return response
}

export const announce = message => {
    const el = $('announcer')
    el.textContent = ''
    requestAnimationFrame(() => { el.textContent = message })
}

export const setStatus = message => {
    const el = $('book-status')
    if (el) el.textContent = message
}

const SETTINGS_KEY = 'elibrary-reader-settings'
export const settings = Object.assign(
    { fontSize: 100, lineHeight: '', fontFamily: '', theme: 'white', ruby: true, zoom: 'auto', fxlZoom: 'fit-page', fxlSpread: 'auto' },
    JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}'))

export class ReaderUI {
    constructor(engine) {
        this.engine = engine
        this.location = null
        this.fraction = 0
        this.bookmarks = data.position?.bookmarks ?? []
        this.saveTimer = null
        this.revision = data.position?.revision ?? 0
    }

    init() {
        this.#panels()
        this.#keys()
        this.#turnButtons()
        this.#progress()
        this.#settingsForm()
        this.#search()
        this.#bookmarkControls()
        this.renderBookmarks()
        window.addEventListener('pagehide', () => this.flush())
        document.addEventListener('visibilitychange', () => {
            if (document.visibilityState === 'hidden') this.flush()
        })
    }

    /** The location to open at: the server's (another device), else this device's. */
    startLocation() {
        if (data.position?.location) return data.position.location
        const local = JSON.parse(localStorage.getItem(data.storageKey) || 'null')
        return local?.location ?? null
    }

    #panels() {
        for (const button of document.querySelectorAll('[data-open]')) {
            button.addEventListener('click', () => {
                const dialog = $(button.dataset.open)
                dialog.showModal()
                dialog.querySelector('input, a, button')?.focus()
            })
        }
        for (const button of document.querySelectorAll('[data-close]'))
            button.addEventListener('click', () => button.closest('dialog').close())
        for (const dialog of document.querySelectorAll('dialog'))
            dialog.addEventListener('click', e => { if (e.target === dialog) dialog.close() })
    }

    /** Arrow keys turn pages in the book's direction: in a right-to-left book ← is "next". */
    handleKey(e) {
        if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return
        const target = e.target
        if (target?.closest?.('input, select, textarea, dialog[open]')) return
        const k = e.key
        if (k === 'ArrowLeft' || k === 'h') { this.engine.goLeft(); e.preventDefault() }
        else if (k === 'ArrowRight' || k === 'l') { this.engine.goRight(); e.preventDefault() }
        else if (k === 'PageDown' || k === ' ' || k === 'ArrowDown' && this.engine.arrowsDownAreNext) {
            this.engine.next(); e.preventDefault()
        } else if (k === 'PageUp' || k === 'ArrowUp' && this.engine.arrowsDownAreNext) {
            this.engine.prev(); e.preventDefault()
        }
    }

    #keys() {
        document.addEventListener('keydown', e => this.handleKey(e))
    }

    #turnButtons() {
        $('turn-left').addEventListener('click', () => this.engine.goLeft())
        $('turn-right').addEventListener('click', () => this.engine.goRight())
    }

    #progress() {
        const slider = $('progress')
        slider.addEventListener('change', () => this.engine.goToFraction(slider.valueAsNumber / 1000))
    }

    /** Called by the engine whenever the visible page changes. */
    relocated(location, fraction, label = '') {
        this.location = location
        this.fraction = Number.isFinite(fraction) ? fraction : 0
        const percent = Math.round(this.fraction * 100)
        $('progress').value = Math.round(this.fraction * 1000)
        $('progress').setAttribute('aria-valuetext', `${percent}%${label ? ' ' + label : ''}`)
        $('progress-text').textContent = `${percent}%`
        $('location-label').textContent = label
        $('bookmark-add').setAttribute('aria-pressed', String(this.bookmarks.some(b => b.location === location)))
        localStorage.setItem(data.storageKey, JSON.stringify({ location, fraction: this.fraction }))
        this.scheduleSave()
    }

    scheduleSave(delay = 1500) {
        if (!data.positionUrl) return
        clearTimeout(this.saveTimer)
        this.saveTimer = setTimeout(() => this.save(), delay)
    }

    async save() {
        clearTimeout(this.saveTimer)
        this.saveTimer = null
        if (!data.positionUrl || !this.location) return
        const response = await fetch(data.positionUrl, {
            method: 'PUT',
            credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
            body: JSON.stringify({ location: this.location, fraction: this.fraction, bookmarks: this.bookmarks }),
        }).catch(() => null)
        if (response?.ok) {
            this.revision = (await response.json()).revision
            $('save-status').textContent = texts.saved
            document.body.dataset.saved = String(this.revision)
        }
    }

    flush() {
        if (this.saveTimer && data.positionUrl && this.location) {
            clearTimeout(this.saveTimer)
            this.saveTimer = null
            const body = JSON.stringify({ location: this.location, fraction: this.fraction, bookmarks: this.bookmarks })
            fetch(data.positionUrl, {
                method: 'PUT', keepalive: true, credentials: 'same-origin',
                headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body,
            }).catch(() => {})
        }
    }

    #settingsForm() {
        const form = $('settings')
        for (const [name, value] of Object.entries(settings)) {
            const fields = form.querySelectorAll(`[name="${name}"]`)
            for (const field of fields) {
                if (field.type === 'radio') field.checked = field.value === String(value)
                else if (field.type === 'checkbox') field.checked = Boolean(value)
                else field.value = value
            }
        }
        $('font-size-value') && ($('font-size-value').textContent = `${settings.fontSize}%`)
        form.addEventListener('change', e => {
            const field = e.target
            if (!field.name) return
            settings[field.name] = field.type === 'checkbox' ? field.checked : field.value
            this.applySettings()
        })
        for (const button of form.querySelectorAll('[data-font-step]')) {
            button.addEventListener('click', () => {
                settings.fontSize = Math.min(250, Math.max(60, Number(settings.fontSize) + Number(button.dataset.fontStep)))
                $('font-size-value').textContent = `${settings.fontSize}%`
                this.applySettings()
                announce(`${settings.fontSize}%`)
            })
        }
        this.applySettings()
    }

    /** A setting's current value. */
    setting(name) { return settings[name] }

    /** Change a setting from a gesture (a pinch): the form shows it, the engine applies it, it is kept. */
    setSetting(name, value) {
        settings[name] = value
        for (const field of $('settings').querySelectorAll(`[name="${name}"]`)) {
            if (field.type === 'radio') field.checked = field.value === String(value)
            else field.value = value
        }
        this.applySettings()
        announce(/^[\d.]+$/.test(String(value)) ? `${Math.round(Number(value) * 100)}%` : '')
    }

    applySettings() {
        localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings))
        document.documentElement.className = `theme-${settings.theme}`
        this.engine.applySettings?.(settings)
    }

    #search() {
        const form = $('search-form')
        const list = $('search-results')
        const status = $('search-status')
        form.addEventListener('submit', async e => {
            e.preventDefault()
            const query = $('search-q').value.trim()
            list.replaceChildren()
            if (!query) return
            status.textContent = texts.searching
            let count = 0
            await this.engine.search(query, result => {
                count++
                const li = document.createElement('li')
                const button = document.createElement('button')
                button.type = 'button'
                button.className = 'search-result'
                const { pre = '', match = query, post = '' } = result.excerpt ?? {}
                const mark = document.createElement('mark')
                mark.textContent = match
                button.append(pre, mark, post)
                if (result.label) {
                    const small = document.createElement('small')
                    small.textContent = ` (${result.label})`
                    button.append(small)
                }
                button.addEventListener('click', () => {
                    form.closest('dialog').close()
                    this.engine.goTo(result.location)
                })
                li.append(button)
                list.append(li)
            })
            status.textContent = count ? `${count} ${texts.results}` : texts.noResults
        })
    }

    #bookmarkControls() {
        $('bookmark-add').addEventListener('click', () => {
            if (!this.location) return
            const index = this.bookmarks.findIndex(b => b.location === this.location)
            if (index >= 0) {
                this.bookmarks.splice(index, 1)
                announce(texts.bookmarkRemoved)
            } else {
                this.bookmarks.push({
                    location: this.location, fraction: this.fraction,
                    label: `${Math.round(this.fraction * 100)}% ${$('location-label').textContent}`.trim(),
                })
                announce(texts.bookmarkAdded)
            }
            $('bookmark-add').setAttribute('aria-pressed', String(index < 0))
            this.renderBookmarks()
            this.save()
        })
    }

    renderBookmarks() {
        const list = $('bookmarks')
        list.replaceChildren()
        if (!this.bookmarks.length) {
            const li = document.createElement('li')
            li.textContent = texts.noBookmarks
            list.append(li)
            return
        }
        for (const mark of [...this.bookmarks].sort((a, b) => a.fraction - b.fraction)) {
            const li = document.createElement('li')
            const go = document.createElement('button')
            go.type = 'button'
            go.textContent = mark.label || `${Math.round(mark.fraction * 100)}%`
            go.addEventListener('click', () => {
                list.closest('dialog').close()
                this.engine.goTo(mark.location)
            })
            const remove = document.createElement('button')
            remove.type = 'button'
            remove.textContent = texts.remove
            remove.setAttribute('aria-label', `${texts.remove}: ${go.textContent}`)
            remove.addEventListener('click', () => {
                this.bookmarks = this.bookmarks.filter(b => b !== mark)
                this.renderBookmarks()
                this.save()
            })
            li.append(go, ' ', remove)
            list.append(li)
        }
    }

    renderTOC(items, onSelect) {
        const nav = $('toc')
        const build = entries => {
            const ol = document.createElement('ol')
            for (const item of entries) {
                const li = document.createElement('li')
                const a = document.createElement('a')
                a.href = '#'
                a.textContent = item.label?.trim() || '—'
                a.addEventListener('click', e => {
                    e.preventDefault()
                    $('toc-panel').close()
                    onSelect(item)
                })
                li.append(a)
                if (item.subitems?.length) li.append(build(item.subitems))
                ol.append(li)
            }
            return ol
        }
        nav.replaceChildren(build(items ?? []))
    }
}
