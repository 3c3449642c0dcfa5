// Vietnamese labels for the API's codes. The codes travel; only these strings are shown.

export const OUTCOMES = {
  completed: 'Hoàn thành',
  partial: 'Hoàn thành một phần',
  not_home: 'Không có nhà',
  refused: 'Từ chối',
};

export const RESULTS = {
  done: 'Đã hỗ trợ xong',
  already_had: 'Đã có từ trước',
  in_progress: 'Đang xử lý',
  declined: 'Không muốn',
  not_eligible: 'Không đủ điều kiện',
  failed: 'Chưa thành công',
};

export const SEX = { M: 'Nam', F: 'Nữ', X: 'Khác' };

export const PURPOSES = {
  support: 'Hỗ trợ dịch vụ số',
  contact: 'Liên hệ lại',
  photo: 'Chụp ảnh',
};

export const STATES = {
  pending: 'Chờ gửi',
  rejected: 'Bị từ chối',
  conflict: 'Xung đột',
  error: 'Máy chủ lỗi',
};

/** The commune office's review of a visit (pulled back once reviewed). */
export const REVIEW = {
  received: 'Xã đã nhận',
  has_issues: 'Xã yêu cầu bổ sung',
  approved: 'Xã đã duyệt',
  rejected: 'Xã không chấp nhận',
};

/**
 * Every stable code of server/vocab.py ERROR_CODES (`codes` in push results, and the phone's own
 * checks in rules.js). tests/test_pwa_labels.py fails when a code has no label here.
 */
export const CODES = {
  required: 'Bắt buộc nhập',
  null: 'Không được để trống',
  invalid: 'Giá trị không hợp lệ',
  wrong_type: 'Sai kiểu dữ liệu',
  not_uuid: 'Mã định danh không hợp lệ',
  not_datetime: 'Ngày giờ không hợp lệ',
  not_date: 'Ngày không hợp lệ',
  unknown_field: 'Mục dữ liệu không được hỗ trợ (cần cập nhật ứng dụng)',
  too_long: 'Quá dài',
  too_short: 'Quá ngắn',
  blank: 'Chỉ có khoảng trắng',
  bad_characters: 'Có ký tự điều khiển, ký tự ẩn hoặc ký tự lỗi',
  out_of_range: 'Ngoài khoảng cho phép',
  not_allowed: 'Không thuộc các giá trị cho phép',
  invalid_phone: 'Số điện thoại không hợp lệ',
  in_future: 'Thời gian ở tương lai (kiểm tra đồng hồ điện thoại)',
  too_old: 'Thời gian quá cũ (kiểm tra đồng hồ điện thoại)',
  before_visit: 'Trước ngày thăm',
  too_far_ahead: 'Quá xa sau ngày thăm',
  exceeds_members: 'Nhiều hơn số nhân khẩu của hộ',
  repeated_line: 'Một dịch vụ được ghi hai lần cho cùng một người',
  unknown_hamlet: 'Ấp/khu phố không có trên máy chủ',
  unknown_household: 'Hộ chưa có trên máy chủ (cần gửi hộ trước)',
  unknown_service: 'Dịch vụ không có hoặc đã ngừng',
  not_household_member: 'Người này không thuộc hộ',
  resident_required: 'Cần chọn người được hỗ trợ (dịch vụ cho từng người)',
  bad_provider: 'Không phải nhà cung cấp của dịch vụ này',
  out_of_scope: 'Ngoài các ấp/khu phố bạn phụ trách',
  no_such_record: 'Máy chủ không có bản ghi này',
  id_taken: 'Mã này đã được dùng cho một bản ghi khác',
  concurrent_change: 'Có thay đổi cùng lúc trên máy chủ; hãy gửi lại',
  not_object: 'Dữ liệu sai cấu trúc',
  unstorable: 'Máy chủ không lưu được bản ghi này (các bản ghi khác vẫn được lưu)',
  not_your_visit: 'Chỉ người ghi lượt thăm mới được sửa',
  visit_reviewed: 'Xã đã duyệt hoặc không chấp nhận lượt thăm này, không sửa được nữa',
  household_changed: 'Không thể chuyển lượt thăm sang hộ khác',
};

/** Why an item was set aside (outbox state `error`, see batching.js). */
export const FAILURES = {
  server_error: 'Máy chủ gặp lỗi khi nhận bản ghi này',
  too_large: 'Bản ghi quá lớn, máy chủ không nhận',
};

export const TYPES = { household: 'Hộ gia đình', resident: 'Nhân khẩu', visit: 'Lượt thăm' };

/** Field names of households/residents as shown in the conflict and error lists. */
export const FIELDS = {
  hamlet_id: 'Ấp/khu phố', address: 'Địa chỉ', head_name: 'Chủ hộ', members_count: 'Số nhân khẩu',
  adults_count: 'Số người lớn', phone: 'Số điện thoại', location: 'Vị trí', full_name: 'Họ và tên',
  birth_year: 'Năm sinh', sex: 'Giới tính', consent: 'Đồng ý', household_id: 'Hộ', visited_at: 'Thời gian',
  outcome: 'Kết quả', notes: 'Ghi chú', services: 'Dịch vụ', follow_up_on: 'Hẹn thăm lại', _schema: 'Chung',
  _item: 'Bản ghi', id: 'Mã bản ghi', base_version: 'Phiên bản', type: 'Loại bản ghi',
};

/** Parts of nested fields ("location.lat", "consent.at", "services.0.detail"). */
export const SUBFIELDS = {
  lat: 'vĩ độ', lon: 'kinh độ', accuracy_m: 'sai số', given: 'đồng ý', purposes: 'mục đích', at: 'thời điểm',
  withdrawn_at: 'thời điểm rút', code: 'mã', resident_id: 'người', result: 'kết quả', provider: 'nhà cung cấp', detail: 'nội dung',
};

/** A phone number as members write it: the server stores E.164 ("+84912345678" → "0912345678"). */
export function displayPhone(phone) {
  if (!phone) return phone;
  return /^\+84\d{9,10}$/.test(phone) ? `0${phone.slice(3)}` : phone;
}

const dateFmt = new Intl.DateTimeFormat('vi-VN', { day: '2-digit', month: '2-digit', year: 'numeric' });

/** "05/10/2025" from "2025-10-05" (read as a local date, not UTC midnight). */
export function formatDate(ymd) {
  if (!ymd) return '';
  const [y, m, d] = ymd.slice(0, 10).split('-').map(Number);
  return dateFmt.format(new Date(y, m - 1, d));
}

/** "09:12 05/10" (local time) from an ISO string; built by hand, as Intl's vi-VN output varies by engine. */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())} ${p(d.getDate())}/${p(d.getMonth() + 1)}`;
}
