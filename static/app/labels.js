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
};

export const TYPES = { household: 'Hộ gia đình', resident: 'Nhân khẩu', visit: 'Lượt thăm' };

/** Field names of households/residents as shown in the conflict and error lists. */
export const FIELDS = {
  hamlet_id: 'Ấp/khu phố', address: 'Địa chỉ', head_name: 'Chủ hộ', members_count: 'Số nhân khẩu',
  adults_count: 'Số người lớn', phone: 'Số điện thoại', location: 'Vị trí', full_name: 'Họ và tên',
  birth_year: 'Năm sinh', sex: 'Giới tính', consent: 'Đồng ý', household_id: 'Hộ', visited_at: 'Thời gian',
  outcome: 'Kết quả', notes: 'Ghi chú', services: 'Dịch vụ', follow_up_on: 'Hẹn thăm lại', _schema: 'Chung',
};

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
