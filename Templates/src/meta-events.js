// TikTok's events in Meta's words, for Meta's browser pixel (../shared/reference/meta.md section 11; the
// server copy is mapped the same way by MetaServerEvent): in pb-extras.js, off the critical path.

// Meta's standard events that keep TikTok's names (pb.js has renamed CompletePayment and SubmitForm to
// Purchase and Lead already). Others (PlaceAnOrder, Download, ClickButton, ApplicationApproval, a site's
// own) go as custom events: Meta has no standard one for them.
const standard = /^(ViewContent|AddTo(Cart|Wishlist)|InitiateCheckout|AddPaymentInfo|CompleteRegistration|Contact|Subscribe|Search|CustomizeProduct|FindLocation|Schedule|StartTrial|SubmitApplication|Purchase|Lead)$/;

// [fbq method, event name, custom data]: TikTok's contents[{content_id, price, quantity}] become
// contents[{id, item_price, quantity}] with content_ids, query becomes search_string, the currency is
// upper-cased as the server copy's is; value, order_id, content_type and the rest keep their names.
export function metaEvent(event, { contents, query, currency, ...data } = {}) {
  if (query) data.search_string = query;
  if (currency) data.currency = (currency + "").toUpperCase();
  if (contents?.map) {
    data.contents = contents.map((item) => ({ id: item.content_id, item_price: item.price, quantity: item.quantity }));
    data.content_ids = contents.map((item) => item.content_id);
  }
  return [standard.test(event) ? "trackSingle" : "trackSingleCustom", event, data];
}
