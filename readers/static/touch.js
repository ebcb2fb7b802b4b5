// Swipes and pinches for the readers that have no touch handling of their own (fixed-layout EPUB, PDF).
// A swipe turns the page the way the finger moves the paper: a finger moving left brings in the page on the
// right (goRight), moving right brings in the page on the left (goLeft); so in a right-to-left book a right
// swipe is "next". Touch moves are taken from the browser (preventDefault), so an edge swipe never becomes
// the browser's "back"; when the page is zoomed in, the browser pans it and a swipe turns only at the edge.

const SWIPE_MIN = 40      // px the finger must travel
const SWIPE_SLANT = 1.5   // horizontal travel at least this many times the vertical
const SWIPE_TIME = 1000   // ms

/**
 * Swipes and pinches over several targets at once (the reader page and each book frame): a pinch whose
 * fingers land in two frames of a spread is still one pinch. ``watch(target, toPage)`` adds a target;
 * ``toPage(touch)`` gives a touch's position on the reader page (frames are offset and scaled).
 * ``scroller()`` is the element that pans when zoomed in (or null); ``onSwipe('left'|'right')`` gets the
 * direction the finger moved; ``onPinch(ratio)`` the change of the fingers' spread, when they lift.
 * With ``exclusive`` the touches are taken before anything inside the target sees them (the engine's own
 * handling); ``ignore()`` true lets a touch go by (e.g. while text is selected).
 */
export class Gestures {
    constructor({ scroller = () => null, onSwipe, onPinch = null, exclusive = false, ignore = () => false }) {
        Object.assign(this, { scroller, onSwipe, onPinch, exclusive, ignore })
        this.touches = new Map()
        this.start = null
        this.pinch = null
    }

    watch(target, toPage = touch => ({ x: touch.clientX, y: touch.clientY })) {
        const opts = { passive: false, capture: this.exclusive }
        for (const type of ['touchstart', 'touchmove', 'touchend', 'touchcancel']) {
            target.addEventListener(type, e => {
                if (this.ignore()) return
                if (this.exclusive) e.stopPropagation()
                if (type === 'touchstart')  // a finger whose lifting we never saw (it left every target) is gone
                    for (const [id, point] of this.touches) if (e.timeStamp - point.t > 3 * SWIPE_TIME) this.touches.delete(id)
                // e.touches, not changedTouches: a finger that came down over another frame of a spread is
                // reported in the first finger's document without a touchstart of its own.
                if (type === 'touchstart' || type === 'touchmove')
                    for (const touch of e.touches)
                        this.touches.set(touch.identifier, { ...toPage(touch), t: this.touches.get(touch.identifier)?.t ?? e.timeStamp })
                this[type](e)
                if (type === 'touchend' || type === 'touchcancel')
                    for (const touch of e.changedTouches) this.touches.delete(touch.identifier)
            }, opts)
        }
        return this
    }

    spread() {
        const [a, b] = [...this.touches.values()]
        return Math.hypot(a.x - b.x, a.y - b.y)
    }

    touchstart(e) {
        if (this.touches.size >= 2 && this.onPinch) {
            this.pinch = { from: this.spread(), ratio: 1 }
            this.start = null
            return
        }
        if (this.touches.size !== 1) return
        const [point] = this.touches.values()
        const box = this.scroller()
        this.start = {
            ...point, t: e.timeStamp,
            // Where the zoomed page could still pan: a swipe there pans instead of turning.
            canPanLeft: box ? box.scrollLeft > 1 : false,
            canPanRight: box ? box.scrollLeft + box.clientWidth < box.scrollWidth - 1 : false,
        }
    }

    touchmove(e) {
        if (!this.pinch && this.touches.size >= 2 && this.onPinch) {
            this.pinch = { from: this.spread(), ratio: 1 }
            this.start = null
        }
        if (this.pinch) {
            if (this.touches.size >= 2) this.pinch.ratio = this.spread() / this.pinch.from
            if (e.cancelable) e.preventDefault()
            return
        }
        const point = this.touches.get(e.changedTouches[0]?.identifier)
        if (!this.start || !point || !e.cancelable) return
        const dx = point.x - this.start.x, dy = point.y - this.start.y
        const box = this.scroller()
        const pansUp = box && box.scrollHeight > box.clientHeight + 1
        // A sideways move the zoomed page cannot follow is ours (never the browser's history swipe); so is
        // any move over a page with nowhere to pan. The rest pans the zoomed page natively.
        const sideways = Math.abs(dx) >= Math.abs(dy)
        if (sideways ? !(dx < 0 ? this.start.canPanRight : this.start.canPanLeft) : !pansUp) e.preventDefault()
    }

    touchend(e) {
        if (this.pinch) {  // a pinch ends as soon as one of its fingers lifts
            const { ratio } = this.pinch
            this.pinch = null
            this.touches.clear()
            if (Math.abs(ratio - 1) > 0.05) this.onPinch(ratio)
            return
        }
        const start = this.start
        this.start = null
        const end = this.touches.get(e.changedTouches[0]?.identifier)
        if (!start || !end || this.touches.size !== 1) return
        const dx = end.x - start.x, dy = end.y - start.y
        if (e.timeStamp - start.t > SWIPE_TIME || Math.abs(dx) < SWIPE_MIN || Math.abs(dx) < SWIPE_SLANT * Math.abs(dy)) return
        if (dx < 0 && start.canPanRight) return   // the finger panned the zoomed page towards its right part
        if (dx > 0 && start.canPanLeft) return
        this.onSwipe(dx < 0 ? 'left' : 'right')
    }

    touchcancel() {
        this.start = null
        this.pinch = null
    }
}

/** A book frame's touches on the reader page: the frame's offset and scale applied. */
export const frameToPage = doc => touch => {
    const frame = doc.defaultView?.frameElement
    if (!frame) return { x: touch.clientX, y: touch.clientY }
    const box = frame.getBoundingClientRect()
    const scale = frame.offsetWidth ? box.width / frame.offsetWidth : 1
    return { x: box.left + touch.clientX * scale, y: box.top + touch.clientY * scale }
}

/** Turn ``engine``'s page for a swipe: the finger moving left shows the page on the right. */
export const turnForSwipe = (engine, direction) => direction === 'left' ? engine.goRight() : engine.goLeft()
